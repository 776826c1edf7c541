import { TimeoutError } from './errors.ts'

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let stampedAt = Number.NaN
let stamp = ''

/**
 * The time now as ISO 8601 text, as `new Date().toISOString()`, made once per millisecond: every
 * event carries it (`ce_time`), and a loaded process writes dozens of events in the same millisecond.
 */
export function nowIso(): string {
  const now = Date.now()
  if (now !== stampedAt) {
    stampedAt = now
    stamp = new Date(now).toISOString()
  }
  return stamp
}

/**
 * Settles like `promise`, or rejects with a TimeoutError after `ms`. The timer never keeps the process alive.
 *
 * @example await withDeadline(producer.send(records), 5_000, 'produce to orders.created')
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms)
    timer.unref?.()
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/**
 * Starts spaced at least `intervalMs` apart, from one start to the next (a commit interval, as
 * Kafka Streams' commit.interval.ms and the producer's linger.ms). `next` resolves when the next
 * may start: at once when `ready()` says so already or `go()` is called while it waits.
 */
export class Spacing {
  #last = -Infinity
  #go: (() => void) | undefined

  constructor(private readonly intervalMs: number) {}

  /** Ends a wait in progress: the next starts now. */
  go(): void {
    this.#go?.()
  }

  async next(ready: () => boolean = () => false): Promise<void> {
    const wait = this.#last + this.intervalMs - performance.now()
    if (wait > 0 && !ready()) {
      const now = Promise.withResolvers<void>()
      const timer = setTimeout(now.resolve, wait)
      this.#go = now.resolve
      await now.promise
      this.#go = undefined
      clearTimeout(timer)
    }
    this.#last = performance.now()
  }
}

/** Exponential backoff: the wait before retry n is min(maxMs, minMs * factor^(n-1)). */
export interface Backoff {
  minMs: number
  maxMs: number
  factor: number
}

/**
 * The wait before retry `attempt` (1 for the first retry). The one backoff rule of shop: supervisor
 * restarts, transaction retries, webhook deliveries and the Kafka client's own retries use it.
 *
 * @example backoffDelay({ minMs: 100, maxMs: 10_000, factor: 2 }, 3) // 400
 */
export function backoffDelay(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.minMs * backoff.factor ** Math.max(0, attempt - 1))
}

/**
 * Calls `fn` until it resolves, at most `attempts` times, waiting `backoffDelay` between calls;
 * only errors that `retry` accepts are retried. Rejects with the last error. Every retry loop of
 * shop's outbound calls (webhooks, the payment provider) is this one.
 *
 * @example await retrying(5, { minMs: 200, maxMs: 60_000, factor: 2 }, () => postJson(url, body, options), isRetryable)
 */
export async function retrying<T>(attempts: number, backoff: Backoff, fn: (attempt: number) => Promise<T>, retry: (error: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      if (attempt >= attempts || !retry(error)) throw error
      await sleep(backoffDelay(backoff, attempt))
    }
  }
}
