import { LogError } from '../../errors.ts'
import { RoundRobin, choosePartition } from '../partitioner.ts'
import { rangeAssign } from '../range-assignor.ts'
import { type Headers, type ProduceRecord, type RecordPosition, type TopicPartition, tpKey } from '../types.ts'
import type { MemoryConsumer } from './consumer.ts'

export interface StoredRecord {
  key: string | undefined
  /**
   * A text value stays text until a reader reads it (`storedValue`): most are state changelogs',
   * which nobody reads but a restore, and encoding each at the append was 4.4% of an embedded
   * process's profile (`bun bench throughput --bus=memory --profile`).
   */
  value: Buffer | string | null
  headers: Headers
  timestamp: number
}

/** The value of `stored` as bytes, encoded once, for every reader. */
export function storedValue(stored: StoredRecord): Buffer | null {
  const value = stored.value
  if (typeof value !== 'string') return value
  return (stored.value = Buffer.from(value))
}

/** Wakes every waiter on the next change. */
export class Signal {
  #waiters: Array<() => void> = []
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve))
  }
  /** Resolves on the next change, or after `ms` (whichever comes first). */
  waitAtMost(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
  fire(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

export class MemoryGroup {
  generation = 0
  readonly members = new Map<string, MemoryConsumer>()
  readonly committed = new Map<string, bigint>()
  /** Partitions whose offsets an open transaction holds (Kafka: a pending transactional offset commit). */
  readonly pending = new Map<string, number>()
  /** Fires when a transaction holding offsets of this group ends. */
  readonly settled = new Signal()
  #rebalancing: Promise<void> = Promise.resolve()

  constructor(
    readonly id: string,
    private readonly cluster: MemoryCluster,
  ) {}

  /** Eager rebalance, serialized: revoke everything, reassign by range, bump the generation. */
  rebalance(): Promise<void> {
    this.#rebalancing = this.#rebalancing.then(async () => {
      const members = [...this.members.values()]
      await Promise.all(members.map((m) => m.revokeAll()))
      const counts = new Map<string, number>()
      for (const m of members) {
        for (const t of m.topics) counts.set(t, this.cluster.topic(t).length)
      }
      const plan = rangeAssign(
        members.map((m) => ({ id: m.memberId, topics: m.topics })),
        counts,
      )
      this.generation++
      await Promise.all(members.map((m) => m.assign(plan.get(m.memberId) ?? [], this.generation)))
      this.cluster.changed.fire()
    })
    return this.#rebalancing
  }

  /** Committed offsets of `partitions`, once no open transaction holds offsets of them (Kafka's require_stable). */
  async stableCommitted(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    const keys = partitions.map(({ topic, partition }) => tpKey(topic, partition))
    while (keys.some((key) => this.pending.has(key))) await this.settled.wait()
    const result = new Map<string, bigint>()
    for (const key of keys) {
      const offset = this.committed.get(key)
      if (offset !== undefined) result.set(key, offset)
    }
    return result
  }
}

/** The shared state behind one or more MemoryLog instances (one "cluster"). */
export class MemoryCluster {
  readonly topics = new Map<string, StoredRecord[][]>()
  readonly groups = new Map<string, MemoryGroup>()
  readonly epochs = new Map<string, number>()
  /** Per transactional id, how to settle its open transaction when a newer instance fences it. */
  readonly openTransactions = new Map<string, () => void>()
  /**
   * Per partition (tpKey), the records of open transactions: they take no offset until commit, but
   * count in the high watermark, as Kafka's records of an open transaction do.
   */
  readonly unsettled = new Map<string, number>()
  readonly changed = new Signal()
  readonly #spread = new RoundRobin()

  topic(name: string): StoredRecord[][] {
    const partitions = this.topics.get(name)
    if (!partitions) throw new LogError(`unknown topic ${name}`)
    return partitions
  }

  group(id: string): MemoryGroup {
    let group = this.groups.get(id)
    if (!group) this.groups.set(id, (group = new MemoryGroup(id, this)))
    return group
  }

  /** Resolves each record's partition; throws before anything is written if one is invalid. */
  place(records: ProduceRecord[]): Array<{ record: ProduceRecord; partition: number }> {
    return records.map((record) => ({ record, partition: choosePartition(record, this.topic(record.topic).length, this.#spread) }))
  }

  append(placed: Array<{ record: ProduceRecord; partition: number }>): RecordPosition[] {
    const now = Date.now()
    const positions = placed.map(({ record, partition }) => {
      const log = this.topic(record.topic)[partition]
      log.push({
        key: record.key,
        // Bytes are copied, as a broker's are sent: the producer may reuse its buffer after the send.
        value: record.value === null || typeof record.value === 'string' ? record.value : Buffer.from(record.value),
        headers: { ...record.headers },
        timestamp: now,
      })
      return { topic: record.topic, partition, offset: BigInt(log.length - 1) }
    })
    if (positions.length > 0) this.changed.fire()
    return positions
  }
}
