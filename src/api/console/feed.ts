import type { LiveOrder, Second } from '../../../schemas/console.ts'
import { events } from '../../../schemas/events.ts'
import { type OrderStatus, finalStatuses } from '../../../schemas/lifecycle.ts'
import { decodeEvent } from '../../events/envelope.ts'
import type { Log } from '../../kafka/port.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import type { Logger } from '../../log.ts'
import { TopicTail } from '../../state/topic-tail.ts'
import { BoundedMap } from '../../bounded-map.ts'

export interface OrderFeedOptions {
  log: Log
  logger: Logger
  /** `order.status`. */
  topic: string
  /** Seconds of history the charts show. */
  windowSeconds?: number
  /** Orders the live list holds (the newest placed). */
  keep?: number
  /** Records per partition read back at start, so the list and charts open with what just happened. */
  backlog?: number
}

interface Bucket {
  accepted: number
  completed: number
  /** End-to-end latencies (ms) of the orders completed in this second. */
  latencies: number[]
  outcomes: Partial<Record<OrderStatus, number>>
}

/**
 * The console's view of orders in flight, folded from `order.status` as it is committed (every api
 * process reads it the same way, whatever runs where): per second of event time, orders accepted
 * (their `pending` step) and completed (a final status) with their end-to-end latency (final step's
 * time minus `placedAt`), outcomes by status, and the latest orders with their current status.
 */
export class OrderFeed {
  readonly #buckets = new Map<number, Bucket>()
  readonly #orders: BoundedMap<string, LiveOrder>
  readonly #tail: TopicTail
  readonly #windowSeconds: number

  constructor(private readonly options: OrderFeedOptions) {
    const { log, logger, topic, backlog = 200 } = options
    this.#windowSeconds = options.windowSeconds ?? 60
    this.#orders = new BoundedMap(options.keep ?? 25)
    this.#tail = new TopicTail({ log, logger, topic, from: (end) => (end > BigInt(backlog) ? end - BigInt(backlog) : 0n), onRecords: (records) => this.#apply(records) })
  }

  get caughtUp(): boolean {
    return this.#tail.caughtUp
  }

  start(): Promise<void> {
    return this.#tail.start()
  }

  stop(): Promise<void> {
    return this.#tail.stop()
  }

  /** The last `windowSeconds` whole seconds before `now`, oldest first, with quiet seconds as zeros. */
  seconds(now = Date.now()): Second[] {
    const last = Math.floor(now / 1000) - 1
    const result: Second[] = []
    for (let s = last - this.#windowSeconds + 1; s <= last; s++) {
      const bucket = this.#buckets.get(s)
      const sorted = bucket ? [...bucket.latencies].sort((a, b) => a - b) : []
      result.push({ at: s * 1000, accepted: bucket?.accepted ?? 0, completed: bucket?.completed ?? 0, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) })
    }
    return result
  }

  /** Final statuses reached in the charts' window, by status. */
  outcomes(now = Date.now()): Partial<Record<OrderStatus, number>> {
    const from = Math.floor(now / 1000) - this.#windowSeconds
    const total: Partial<Record<OrderStatus, number>> = {}
    for (const [second, bucket] of this.#buckets) {
      if (second < from) continue
      for (const [status, n] of Object.entries(bucket.outcomes) as Array<[OrderStatus, number]>) total[status] = (total[status] ?? 0) + n
    }
    return total
  }

  /** The newest orders, newest first, each with its latest step. */
  orders(): LiveOrder[] {
    return [...this.#orders.values()].reverse()
  }

  #apply(records: ConsumedRecord[]): void {
    for (const record of records) {
      let change
      try {
        change = decodeEvent(events.orderStatus, record)
      } catch {
        continue // the projector and the notifier dead-letter what cannot be read; the console only leaves it out
      }
      const at = Date.parse(change.at)
      const bucket = this.#bucket(Math.floor(at / 1000))
      if (change.status === 'pending') bucket.accepted++
      if (finalStatuses.has(change.status)) {
        bucket.completed++
        bucket.outcomes[change.status] = (bucket.outcomes[change.status] ?? 0) + 1
        if (change.placedAt) bucket.latencies.push(Math.max(0, at - Date.parse(change.placedAt)))
      }
      // The list holds the newest orders (by their first step), each following its life to its end.
      const known = this.#orders.get(change.orderId)
      if (change.status === 'pending' && change.order) {
        const { total, currency, createdAt } = change.order
        this.#orders.set(change.orderId, { orderId: change.orderId, userId: change.userId, status: 'pending', total, currency, placedAt: createdAt, at: change.at })
      } else if (known) {
        this.#orders.set(change.orderId, { ...known, status: change.status, at: change.at, reason: change.reason ?? known.reason })
      }
    }
    this.#forget()
  }

  #bucket(second: number): Bucket {
    let bucket = this.#buckets.get(second)
    if (!bucket) this.#buckets.set(second, (bucket = { accepted: 0, completed: 0, latencies: [], outcomes: {} }))
    return bucket
  }

  /** Drops seconds older than the window (by the wall clock: the charts end now). */
  #forget(): void {
    const oldest = Math.floor(Date.now() / 1000) - this.#windowSeconds - 1
    for (const second of this.#buckets.keys()) if (second < oldest) this.#buckets.delete(second)
  }
}

/** The q-quantile of sorted values (nearest rank), null when there are none. */
function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
}
