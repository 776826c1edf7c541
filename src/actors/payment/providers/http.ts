import { DeliveryError } from '../../../errors.ts'
import { postJson } from '../../../outbound/post-json.ts'
import type { PaymentAnswer, PaymentCall, PaymentProvider } from './types.ts'

export interface HttpProviderOptions {
  /** Base URL: charges are POSTed to `{url}/charges`, refunds to `{url}/refunds`. */
  url: string
  timeoutMs: number
}

/**
 * A payment provider over HTTP. Each call is `POST {url}/charges` (or `/refunds`) with the JSON body
 * `{orderId, userId, amount}` and the header `Idempotency-Key: charge:<orderId>` (or
 * `refund:<orderId>`), so that a repeated call (a retry, a redelivery after a crash) is performed once
 * by the provider.
 * - 2xx: performed; the body's `id` is the payment's (or refund's) id.
 * - network errors, timeouts, 429, 5xx: a retryable DeliveryError (the payment handler retries
 *   with backoff; once its attempts are spent the request goes to the dead-letter topic, never guessed).
 * - any other 4xx: declined; the reason is the body's `reason` (or `code`), else `http_<status>`.
 */
export function httpProvider(options: HttpProviderOptions): PaymentProvider {
  const call = async (path: string, c: PaymentCall): Promise<PaymentAnswer> => {
    const url = `${options.url.replace(/\/+$/, '')}${path}`
    const answer = await postJson(url, { orderId: c.orderId, userId: c.userId, amount: c.amount }, { timeoutMs: options.timeoutMs, headers: { 'idempotency-key': c.idempotencyKey } })
    const body = (answer.body ?? {}) as { id?: unknown; reason?: unknown; code?: unknown }
    if (answer.status >= 200 && answer.status < 300) {
      if (typeof body.id !== 'string' || body.id === '') throw new DeliveryError(`${url}: HTTP ${answer.status} without an "id"`)
      return { ok: true, id: body.id }
    }
    const reason = typeof body.reason === 'string' ? body.reason : typeof body.code === 'string' ? body.code : `http_${answer.status}`
    return { ok: false, reason }
  }
  return {
    charge: (c) => call('/charges', c),
    refund: (c) => call('/refunds', c),
  }
}
