import type { Log } from '../kafka/port.ts'
import type { ConsumedRecord, RecordPosition } from '../kafka/types.ts'
import type { Logger } from '../log.ts'
import { backoffDelay, sleep } from '../time.ts'

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
  #positions: RecordPosition[] = []
  #caughtUp = false
  #running = false
  #loop: Promise<void> | undefined

  constructor(private readonly options: TopicViewOptions<V>) {}

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
    return this.#caughtUp
  }

  /** Catches up with the topic, then keeps following it in the background. */
  async start(): Promise<void> {
    const { log, topic } = this.options
    const ends = await log.admin.endOffsets(topic)
    this.#positions = ends.map((_, partition) => ({ topic, partition, offset: 0n }))
    while (this.#positions.some((p, i) => p.offset < ends[i])) {
      if ((await this.#readOnce()) === 0 && this.#positions.every((p, i) => p.offset >= ends[i])) break
    }
    this.#caughtUp = true
    this.#running = true
    this.#loop = this.#follow()
  }

  async #follow(): Promise<void> {
    let failures = 0
    let swept = Date.now()
    while (this.#running) {
      if (this.options.expired && Date.now() - swept >= sweepEveryMs) {
        for (const [key, value] of this.#values) if (this.options.expired(value)) this.#values.delete(key)
        for (const indexKey of this.#index.keys()) this.find(indexKey)
        swept = Date.now()
      }
      try {
        await this.#readOnce(this.options.pollWaitMs ?? 500)
        failures = 0
      } catch (error) {
        this.options.logger.warn({ event: 'view:read-failed', topic: this.options.topic, err: error })
        await sleep(backoffDelay({ minMs: 100, maxMs: 5_000, factor: 2 }, ++failures))
      }
    }
  }

  /** Reads once from every partition (waiting up to `maxWaitMs` for records when at the end); returns how many arrived. */
  async #readOnce(maxWaitMs = 0): Promise<number> {
    const results = await this.options.log.read(this.#positions, { maxWaitMs })
    let count = 0
    for (const result of results) {
      for (const record of result.records) {
        count++
        if (record.key === undefined) continue
        const value = this.options.decode(record)
        if (value === undefined || this.options.expired?.(value)) this.#values.delete(record.key)
        else {
          this.#values.set(record.key, value)
          if (this.options.index) this.#index.set(this.options.index(value), record.key)
        }
      }
      this.#positions[result.partition] = { topic: result.topic, partition: result.partition, offset: result.next }
    }
    return count
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#loop
  }
}
