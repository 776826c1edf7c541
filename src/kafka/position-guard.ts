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
 *
 * A partition that receives nothing more after the assignment (its producers are done) shows no
 * such first record, so the guard also remembers how far the consumer has received each
 * partition, in any generation (`received`): records it received but that were dropped (an older
 * generation's) or never committed (the previous owner's transaction fenced) are not fetched again
 * once the position has moved past them. `behind` reads those (seen with two group members joining
 * a second apart while the first drained a backlog: one partition's 437 records were never
 * processed, its committed offset stayed unset).
 */
export class PositionGuard {
  readonly #next = new Map<string, bigint>()
  readonly #unverified = new Set<string>()
  readonly #assigned = new Map<string, TopicPartition>()
  readonly #received = new Map<string, bigint>()

  constructor(
    private readonly read: (from: RecordPosition[]) => Promise<ReadResult[]>,
    /**
     * Told each time the guard filled a gap (how many committed records it read): `skipped`, records
     * the client skipped; `behind`, records received before the assignment that it will not deliver again.
     */
    private readonly onFill: (partition: string, from: bigint, to: bigint, records: number, why: 'skipped' | 'behind') => void = () => {},
  ) {}

  /** A new generation: `committed` is where each assigned partition resumes. */
  reset(assigned: TopicPartition[], committed: Map<string, bigint>): void {
    this.#next.clear()
    this.#unverified.clear()
    this.#assigned.clear()
    for (const { topic, partition } of assigned) {
      const key = tpKey(topic, partition)
      this.#assigned.set(key, { topic, partition })
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
      if (missed.length > 0) this.onFill(key, next, fresh[0].offset, missed.length, 'skipped')
      fresh = [...missed, ...fresh]
    }
    this.#unverified.delete(key)
    this.#next.set(key, fresh[fresh.length - 1].offset + 1n)
    return fresh
  }

  /** The consumer received `record` from the broker (whatever becomes of it). */
  received(record: ConsumedRecord): void {
    const key = tpKey(record.topic, record.partition)
    if (record.offset >= (this.#received.get(key) ?? 0n)) this.#received.set(key, record.offset + 1n)
  }

  /**
   * For each assigned partition the consumer has received past its position without admitting,
   * the committed records in between, read and returned in offset order (the partition's position
   * then follows them; the consumer's own redelivery of them, if it comes, is dropped by `admit`).
   * They are delivered under the current `generation`.
   */
  async behind(generation: number): Promise<ConsumedRecord[][]> {
    const result: ConsumedRecord[][] = []
    for (const [key, { topic, partition }] of this.#assigned) {
      const next = this.#next.get(key)!
      const received = this.#received.get(key)
      if (received === undefined || received <= next) continue
      const records = (await this.#range(topic, partition, next, received)).map((r) => ({ ...r, generation }))
      this.onFill(key, next, received, records.length, 'behind')
      this.#unverified.delete(key)
      this.#next.set(key, received)
      if (records.length > 0) result.push(records)
    }
    return result
  }

  /** The committed records from `from` up to (not including) `first`, as if the consumer had delivered them. */
  async #between(topic: string, partition: number, from: bigint, first: ConsumedRecord): Promise<ConsumedRecord[]> {
    return (await this.#range(topic, partition, from, first.offset)).map((r) => ({ ...r, generation: first.generation }))
  }

  /** The committed records of a partition in [from, to). */
  async #range(topic: string, partition: number, from: bigint, to: bigint): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = []
    for (let offset = from; offset < to; ) {
      const [result] = await this.read([{ topic, partition, offset }])
      for (const r of result.records) if (r.offset < to) records.push(r)
      if (result.next === offset) break
      offset = result.next
    }
    return records
  }
}
