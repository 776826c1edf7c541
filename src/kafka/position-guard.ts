import { LogError } from '../errors.ts'
import type { ConsumedRecord, ReadResult, RecordPosition, TopicPartition } from './types.ts'
import { tpKey } from './types.ts'

/**
 * Keeps a consumer's deliveries gap-free across rebalances.
 *
 * @platformatic/kafka 2.12.1 resets its fetch positions to the committed offsets when the group
 * rejoins, but a fetch already in flight at that moment still lands afterwards and moves the
 * position past its records. The records between the committed offset and that fetch are then
 * never delivered: measured as orders with no outcome after kill -9 rebalances. So after each
 * assignment, the first record of each partition must either be the first committed record at or
 * after the committed offset, or the gap must hold no committed record (transaction markers and
 * aborted records occupy offsets too); otherwise `admit` throws and the member must rejoin.
 */
export class PositionGuard {
  readonly #next = new Map<string, bigint>()
  readonly #unverified = new Set<string>()

  constructor(private readonly read: (from: RecordPosition[]) => Promise<ReadResult[]>) {}

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

  /** The records of one partition that may be delivered: duplicates below the position are dropped. */
  async admit(records: ConsumedRecord[]): Promise<ConsumedRecord[]> {
    const { topic, partition } = records[0]
    const key = tpKey(topic, partition)
    const next = this.#next.get(key)
    if (next === undefined) return records
    const fresh = records.filter((r) => r.offset >= next)
    if (fresh.length === 0) return fresh
    if (this.#unverified.has(key) && fresh[0].offset > next) {
      const [result] = await this.read([{ topic, partition, offset: next }])
      const first = result.records[0]?.offset
      if (first !== undefined && first < fresh[0].offset) {
        throw new LogError(
          `${key}: the consumer skipped committed records ${next}..${fresh[0].offset - 1n} after a rebalance; rejoining to read them`,
          { retryable: true },
        )
      }
    }
    this.#unverified.delete(key)
    this.#next.set(key, fresh[fresh.length - 1].offset + 1n)
    return fresh
  }
}
