import { createHmac } from 'node:crypto'
import { DeliveryError } from '../../../errors.ts'
import { type RetryPolicy, postJson, withRetries } from '../../../outbound/post-json.ts'
import type { Notification, Sink } from './types.ts'

export interface WebhookOptions extends RetryPolicy {
  url: string
  secret: string
  timeoutMs: number
}

/** `X-Shop-Signature: sha256=<hex HMAC-SHA256 of the body>`; receivers recompute it with the shared secret. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * POSTs each notification as JSON. Retries network errors, timeouts, 429 and 5xx with exponential
 * backoff; any other status is final. `X-Shop-Notification-Id` lets the receiver drop duplicates
 * (delivery is at-least-once: a crash after a delivery and before its commit repeats it).
 */
export function webhookSink(options: WebhookOptions): Sink {
  return {
    name: 'webhook',
    async send(n: Notification) {
      const body = JSON.stringify(n)
      const headers = { 'x-shop-signature': signature(body, options.secret), 'x-shop-notification-id': n.id }
      const answer = await withRetries(`webhook ${options.url}`, options, () => postJson(options.url, body, { headers, timeoutMs: options.timeoutMs }))
      if (answer.status >= 300) throw new DeliveryError(`webhook ${options.url}: HTTP ${answer.status}`)
    },
  }
}
