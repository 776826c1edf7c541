import type { Log } from '../kafka/port.ts'
import type { ConsumedRecord, RecordPosition } from '../kafka/types.ts'
import type { Logger } from '../log.ts'
import { backoffDelay, sleep } from '../time.ts'

export interface TopicTailOptions {
  log: Log
  logger: Logger
  topic: string
  /** Each partition's first offset to read, given its end when the tail starts; the whole topic by default. */
  from?: (end: bigint) => bigint
  /** The records of one partition, in offset order (committed records only: read_committed). */
  onRecords: (records: ConsumedRecord[]) => void
  /** How long one read waits for new records once caught up (a long poll at the broker). */
  pollWaitMs?: number
  /** Runs before each read while following (housekeeping of the caller's state). */
  beforeRead?: () => void
}

/**
 * Follows every partition of a topic without a consumer group, as any number of processes can:
 * catches up from `from` to the ends the topic had at start, then keeps reading in the background
 * until stopped. A failed read is logged and tried again with backoff; nothing is skipped.
 */
export class TopicTail {
  #positions: RecordPosition[] = []
  #caughtUp = false
  #running = false
  #loop: Promise<void> | undefined

  constructor(private readonly options: TopicTailOptions) {}

  /** True once the tail has read everything that was committed when it started. */
  get caughtUp(): boolean {
    return this.#caughtUp
  }

  /** Catches up with the topic, then keeps following it in the background. */
  async start(): Promise<void> {
    const { log, topic, from = () => 0n } = this.options
    const ends = await log.admin.endOffsets(topic)
    this.#positions = ends.map((end, partition) => ({ topic, partition, offset: from(end) }))
    while (this.#positions.some((p, i) => p.offset < ends[i])) {
      if ((await this.#readOnce()) === 0 && this.#positions.every((p, i) => p.offset >= ends[i])) break
    }
    this.#caughtUp = true
    this.#running = true
    this.#loop = this.#follow()
  }

  async #follow(): Promise<void> {
    let failures = 0
    while (this.#running) {
      this.options.beforeRead?.()
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
      count += result.records.length
      if (result.records.length > 0) this.options.onRecords(result.records)
      this.#positions[result.partition] = { topic: result.topic, partition: result.partition, offset: result.next }
    }
    return count
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#loop
  }
}
