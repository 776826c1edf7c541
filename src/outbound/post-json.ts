import { DeliveryError, isRetryable } from '../errors.ts'
import { type Backoff, retrying } from '../time.ts'
import { SpanKind, SpanStatusCode, injectContext, inSpan } from '../observability/tracing.ts'

export interface PostOptions {
  headers?: Record<string, string>
  /** Deadline of the call. */
  timeoutMs: number
}

export interface PostAnswer {
  status: number
  /** The answer's body as JSON, or undefined when it is not JSON. */
  body: unknown
}

/** How calls to the outside world are retried: `attempts` calls, the first wait `backoffMs`, doubling up to a minute. */
export interface RetryPolicy {
  attempts: number
  backoffMs: number
  /** Called before each attempt after the first (metrics). */
  onRetry?: () => void
}

export const retryBackoff = (policy: RetryPolicy): Backoff => ({ minMs: policy.backoffMs, maxMs: 60_000, factor: 2 })

/**
 * Retries `call` under `policy` while it fails transiently; once the attempts are spent, rejects
 * with a final DeliveryError listing every failure (the record then goes to the dead-letter topic).
 */
export async function withRetries<T>(what: string, policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  const failures: string[] = []
  try {
    return await retrying(policy.attempts, retryBackoff(policy), (attempt) => {
      if (attempt > 1) policy.onRetry?.()
      return call().catch((error) => {
        if (isRetryable(error)) failures.push(error.message)
        throw error
      })
    }, isRetryable)
  } catch (error) {
    if (!isRetryable(error)) throw error
    throw new DeliveryError(`${what}: ${failures.length} attempt(s) failed: ${failures.join('; ')}`, { cause: error })
  }
}

/**
 * One JSON POST, the way shop calls the outside world (webhooks, the payment provider). Network
 * errors, timeouts, 429 and 5xx reject with a retryable DeliveryError (see withRetries); any other
 * answer is returned for the caller to judge. Messages leave the URL to the caller (withRetries names it). The caller's headers should carry an idempotency key:
 * a call that timed out may have been performed.
 */
export function postJson(url: string, body: unknown, options: PostOptions): Promise<PostAnswer> {
  const target = new URL(url)
  const attributes = { 'http.request.method': 'POST', 'server.address': target.hostname, 'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80), 'url.full': `${target.origin}${target.pathname}` }
  // A CLIENT span per call (each retry its own), whose traceparent the receiver may continue.
  return inSpan('POST', SpanKind.CLIENT, attributes, async (span) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
    injectContext(headers)
    let response: Response
    let text: string
    try {
      response = await fetch(url, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers,
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      text = await response.text()
    } catch (error) {
      throw new DeliveryError((error as Error).message, { retryable: true, cause: error })
    }
    span.setAttribute('http.response.status_code', response.status)
    // A 4xx answer is the caller's failure: an error for a CLIENT span (semantic conventions).
    if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` })
    if (response.status === 429 || response.status >= 500) throw new DeliveryError(`HTTP ${response.status}`, { retryable: true })
    return { status: response.status, body: parseJson(text) }
  })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
