import type { Log } from '../kafka/port.ts'
import { type ConsumedRecord, type ReadResult, type RecordPosition, tpKey } from '../kafka/types.ts'
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

const defaultPollWaitMs = 500

/**
 * The least time between the starts of two rounds of a log's followers: a view is at most this
 * much behind its topic, past the read itself. Read as soon as anything was committed, the views
 * read once per commit of any group writing to one of their topics. With rounds 50 ms apart the
 * embedded process completed 4,069 / 4,221 / 4,257 orders/s against 3,065 / 3,085 / 3,040, at
 * 0.284 to 0.298 ms of CPU per order against 0.388 to 0.401 (`bun bench throughput --bus=memory`,
 * alternating); on Kafka the api used ~29% of a core against ~33% at 25% load, its latency
 * unchanged (`bun bench latency`, one pair each of 20, 50 and 100 ms).
 */
const roundIntervalMs = 50

/**
 * Follows every partition of a topic without a consumer group, as any number of processes can:
 * catches up from `from` to the ends the topic had at start, then keeps reading in the background
 * until stopped. Once caught up, the tails of one log follow together (see Followers). A failed
 * read is logged and tried again with backoff; nothing is skipped.
 */
export class TopicTail {
  #positions: RecordPosition[] = []
  #caughtUp = false
  #followers: Followers | undefined

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
      const results = await log.read(this.#positions)
      if (this.take(results) === 0 && this.#positions.every((p, i) => p.offset >= ends[i])) break
    }
    this.#caughtUp = true
    this.#followers = followersOf(log, this.options.logger)
    this.#followers.add(this)
  }

  get topic(): string {
    return this.options.topic
  }

  get positions(): readonly RecordPosition[] {
    return this.#positions
  }

  get pollWaitMs(): number {
    return this.options.pollWaitMs ?? defaultPollWaitMs
  }

  beforeRead(): void {
    this.options.beforeRead?.()
  }

  /**
   * Takes this topic's part of `results`: the records at or after each partition's position (a
   * shared read starts at the lowest position any tail of the partition needs); returns how many.
   */
  take(results: ReadResult[]): number {
    let count = 0
    for (const result of results) {
      if (result.topic !== this.options.topic) continue
      const at = this.#positions[result.partition].offset
      const records = result.records[0]?.offset < at ? result.records.filter((r) => r.offset >= at) : result.records
      count += records.length
      if (records.length > 0) this.options.onRecords(records)
      if (result.next > at) this.#positions[result.partition] = { topic: result.topic, partition: result.partition, offset: result.next }
    }
    return count
  }

  /** Stops following; resolves once no read of it is in flight. */
  async stop(): Promise<void> {
    await this.#followers?.remove(this)
  }
}

const followers = new WeakMap<Log, Followers>()

function followersOf(log: Log, logger: Logger): Followers {
  let shared = followers.get(log)
  if (!shared) followers.set(log, (shared = new Followers(log, logger)))
  return shared
}

/**
 * The tails of one log that have caught up, following together: each round is one long poll over
 * every partition of every tail, answered as soon as any of them has records, instead of one per
 * tail; rounds start at least `roundIntervalMs` apart. The api follows seven topics; read one by
 * one, each of their commits woke a poll of its own, and the api made more fetches than any
 * consumer group process (`bun bench latency`, 225 orders/s, requests counted on the client's
 * connections).
 */
class Followers {
  readonly #tails = new Set<TopicTail>()
  /** The round in flight, if any. */
  #round: Promise<void> | undefined
  #running = false

  constructor(
    private readonly log: Log,
    private readonly logger: Logger,
  ) {}

  add(tail: TopicTail): void {
    this.#tails.add(tail)
    if (!this.#running) void this.#follow()
  }

  /** Resolves once the round in flight, which may still hold `tail`'s read, has ended. */
  async remove(tail: TopicTail): Promise<void> {
    this.#tails.delete(tail)
    await this.#round
  }

  async #follow(): Promise<void> {
    this.#running = true
    let failures = 0
    let began = -Infinity
    while (this.#tails.size > 0) {
      const wait = began + roundIntervalMs - performance.now()
      if (wait > 0) await sleep(wait)
      if (this.#tails.size === 0) break
      began = performance.now()
      const tails = [...this.#tails]
      const round = this.#read(tails)
      this.#round = round.then(
        () => {},
        () => {},
      )
      try {
        const results = await round
        failures = 0
        for (const tail of tails) if (this.#tails.has(tail)) tail.take(results)
      } catch (error) {
        this.logger.warn({ event: 'view:read-failed', topics: [...new Set(tails.map((t) => t.topic))], err: error })
        await sleep(backoffDelay({ minMs: 100, maxMs: 5_000, factor: 2 }, ++failures))
      }
    }
    this.#running = false
  }

  /** One read of every tail's partitions, each from the lowest position a tail of it needs. */
  #read(tails: TopicTail[]): Promise<ReadResult[]> {
    const from = new Map<string, RecordPosition>()
    for (const tail of tails) {
      tail.beforeRead()
      for (const position of tail.positions) {
        const key = tpKey(position.topic, position.partition)
        const lowest = from.get(key)
        if (!lowest || position.offset < lowest.offset) from.set(key, position)
      }
    }
    return this.log.read([...from.values()], { maxWaitMs: Math.min(...tails.map((t) => t.pollWaitMs)) })
  }
}
