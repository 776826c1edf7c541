import type { Log } from '../kafka/port.ts'
import type { ConsumedRecord } from '../kafka/types.ts'
import type { Logger } from '../log.ts'
import { TopicTail } from './topic-tail.ts'

export interface TopicViewOptions<V> {
  log: Log
  logger: Logger
  topic: string
  /** The value of a record, or undefined to ignore it. */
  decode: (record: ConsumedRecord) => V | undefined
  /** How long one read waits for new records once the view has caught up (a long poll at the broker). */
  pollWaitMs?: number
  /** Values for which this is true are dropped (once a minute, and never returned by `get`). */
  expired?: (value: V) => boolean
  /** A second key of each value (an idempotency entry's orderId), for `find`. */
  index?: (value: V) => string
}

const sweepEveryMs = 60_000

/**
 * The latest value per key of a compacted topic, every partition, kept current by reading the
 * topic without a group (any number of processes can hold the same view). Read-only: the topic's
 * writers are elsewhere.
 */
export class TopicView<V> {
  readonly #values = new Map<string, V>()
  /** Second key -> key, when `index` is set; checked against the value on every `find`. */
  readonly #index = new Map<string, string>()
  readonly #tail: TopicTail
  #swept = Date.now()

  constructor(private readonly options: TopicViewOptions<V>) {
    const { log, logger, topic, pollWaitMs } = options
    this.#tail = new TopicTail({ log, logger, topic, pollWaitMs, onRecords: (records) => this.#apply(records), beforeRead: () => this.#sweep() })
  }

  get(key: string): V | undefined {
    const value = this.#values.get(key)
    if (value === undefined || !this.options.expired?.(value)) return value
    this.#values.delete(key)
    return undefined
  }

  /** The value whose second key (`index`) is `indexKey`. */
  find(indexKey: string): V | undefined {
    const key = this.#index.get(indexKey)
    const value = key === undefined ? undefined : this.get(key)
    if (value !== undefined && this.options.index?.(value) === indexKey) return value
    this.#index.delete(indexKey)
    return undefined
  }

  /** Every value that has not expired. */
  *values(): IterableIterator<V> {
    for (const value of this.#values.values()) if (!this.options.expired?.(value)) yield value
  }

  /** Values held (expired ones are dropped by the next sweep). */
  get size(): number {
    return this.#values.size
  }

  /** True once the view has read everything that was committed when it started. */
  get caughtUp(): boolean {
    return this.#tail.caughtUp
  }

  /** Catches up with the topic, then keeps following it in the background. */
  start(): Promise<void> {
    return this.#tail.start()
  }

  stop(): Promise<void> {
    return this.#tail.stop()
  }

  #apply(records: ConsumedRecord[]): void {
    for (const record of records) {
      if (record.key === undefined) continue
      const value = this.options.decode(record)
      if (value === undefined || this.options.expired?.(value)) this.#values.delete(record.key)
      else {
        this.#values.set(record.key, value)
        if (this.options.index) this.#index.set(this.options.index(value), record.key)
      }
    }
  }

  /** Drops expired values, once a minute. */
  #sweep(): void {
    if (!this.options.expired || Date.now() - this.#swept < sweepEveryMs) return
    for (const [key, value] of this.#values) if (this.options.expired(value)) this.#values.delete(key)
    for (const indexKey of this.#index.keys()) this.find(indexKey)
    this.#swept = Date.now()
  }
}
