import type { ConsumedRecord, ReadResult, RecordPosition, TopicPartition } from './types.ts'
import { tpKey } from './types.ts'

/**
 * Keeps a consumer's deliveries gap-free across rebalances.
 *
 * @platformatic/kafka 2.12.1 resets its fetch positions to the committed offsets when the group
 * rejoins, but a fetch already in flight at that moment still lands afterwards and moves the
 * position past its records. The records between the committed offset and that fetch are then
 * never delivered: measured as orders with no outcome after kill -9 rebalances. So after each
 * assignment, when the first record of a partition lies past the committed offset, the guard reads
 * the committed records in between (transaction markers and aborted records occupy offsets too,
 * so the range may hold none) and delivers them first.
 */
export class PositionGuard {
  readonly #next = new Map<string, bigint>()
  readonly #unverified = new Set<string>()

  constructor(
    private readonly read: (from: RecordPosition[]) => Promise<ReadResult[]>,
    /** Told each time the guard filled a gap (how many committed records the consumer had skipped). */
    private readonly onFill: (partition: string, from: bigint, to: bigint, records: number) => void = () => {},
  ) {}

  /** A new generation: `committed` is where each assigned partition resumes. */
  reset(assigned: TopicPartition[], committed: Map<string, bigint>): void {
    this.#next.clear()
    this.#unverified.clear()
    for (const { topic, partition } of assigned) {
      const key = tpKey(topic, partition)
      this.#next.set(key, committed.get(key) ?? 0n)
      this.#unverified.add(key)
    }
  }

  /**
   * The records of one partition to deliver, in offset order: duplicates below the position are
   * dropped; after an assignment, committed records the consumer skipped are put in front.
   */
  async admit(records: ConsumedRecord[]): Promise<ConsumedRecord[]> {
    const { topic, partition } = records[0]
    const key = tpKey(topic, partition)
    const next = this.#next.get(key)
    if (next === undefined) return records
    // Record by record: overlapping fetches (the late one and the one after the reset) can put the
    // same offset twice into one batch.
    let fresh: ConsumedRecord[] = []
    let position = next
    for (const record of records) {
      if (record.offset < position) continue
      fresh.push(record)
      position = record.offset + 1n
    }
    if (fresh.length === 0) return fresh
    if (this.#unverified.has(key) && fresh[0].offset > next) {
      const missed = await this.#between(topic, partition, next, fresh[0])
      if (missed.length > 0) this.onFill(key, next, fresh[0].offset, missed.length)
      fresh = [...missed, ...fresh]
    }
    this.#unverified.delete(key)
    this.#next.set(key, fresh[fresh.length - 1].offset + 1n)
    return fresh
  }

  /** The committed records from `from` up to (not including) `first`, as if the consumer had delivered them. */
  async #between(topic: string, partition: number, from: bigint, first: ConsumedRecord): Promise<ConsumedRecord[]> {
    const missed: ConsumedRecord[] = []
    for (let offset = from; offset < first.offset; ) {
      const [result] = await this.read([{ topic, partition, offset }])
      for (const r of result.records) if (r.offset < first.offset) missed.push({ ...r, generation: first.generation })
      if (result.next === offset) break
      offset = result.next
    }
    return missed
  }
}
