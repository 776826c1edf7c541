import { LogError } from '../../errors.ts'
import { RoundRobin, choosePartition } from '../partitioner.ts'
import { rangeAssign } from '../range-assignor.ts'
import { type ProduceRecord, type RecordPosition, type TopicPartition, type TopicSpec, tpKey } from '../types.ts'
import type { MemoryConsumer } from './consumer.ts'
import { type Cleanup, PartitionLog } from './partition-log.ts'

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

/**
 * Kafka's default `delete.retention.ms`: a tombstone outlives the values it deletes by a day, so
 * that a reader behind by less (a state store restoring from its cache's checkpoint) still sees
 * the deletion.
 */
const tombstoneRetentionMs = 86_400_000

/** How often the cluster cleans its topics, at most. */
const cleanEveryMs = 1_000

/**
 * The shared state behind one or more MemoryLog instances (one "cluster").
 *
 * Topics are cleaned as a broker cleans them, so that a long-running embedded process holds what
 * is live rather than every record it ever wrote: a compacted topic keeps the latest record of
 * each key (a tombstone for a day); a topic that deletes drops its records older than its
 * `retention.ms` (`retentionMs` when it sets none), but never one a consumer group reading it has
 * not committed yet: in one process every reader is here to wait for.
 */
export class MemoryCluster {
  readonly topics = new Map<string, PartitionLog[]>()
  #cleanedAt = Date.now()
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

  /** `retentionMs`: the retention of a topic whose spec sets none (a broker's log.retention.ms); Infinity keeps every record. */
  constructor(readonly retentionMs = Number.POSITIVE_INFINITY) {}

  /** Creates the topic of `spec` unless it exists (the caller checked its partition count). */
  create(spec: TopicSpec): void {
    if (this.topics.has(spec.name)) return
    const policy = (spec.config?.['cleanup.policy'] ?? 'delete').split(',')
    const retention = spec.config?.['retention.ms']
    const cleanup: Cleanup = {
      compact: policy.includes('compact'),
      retentionMs: !policy.includes('delete') ? Number.POSITIVE_INFINITY : retention === undefined ? this.retentionMs : Number(retention),
      tombstoneMs: Number(spec.config?.['delete.retention.ms'] ?? tombstoneRetentionMs),
    }
    this.topics.set(spec.name, Array.from({ length: spec.partitions }, () => new PartitionLog(cleanup)))
  }

  topic(name: string): PartitionLog[] {
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
      const offset = this.topic(record.topic)[partition]!.append({
        key: record.key,
        // Bytes are copied, as a broker's are sent: the producer may reuse its buffer after the send.
        value: record.value === null || typeof record.value === 'string' ? record.value : Buffer.from(record.value),
        headers: { ...record.headers },
        timestamp: now,
      })
      return { topic: record.topic, partition, offset: BigInt(offset) }
    })
    if (positions.length > 0) this.changed.fire()
    if (now - this.#cleanedAt >= cleanEveryMs) this.clean(now)
    return positions
  }

  /** Compacts and applies retention to every topic as of `now` (on appends, at most once per `cleanEveryMs`). */
  clean(now = Date.now()): void {
    this.#cleanedAt = now
    for (const [name, partitions] of this.topics) {
      partitions.forEach((log, partition) => log.clean(now, () => this.#committedByAll(name, partition)))
    }
  }

  /** The offset below which every group reading `topic` has committed its `partition` (a member without a commit holds it at 0). */
  #committedByAll(topic: string, partition: number): number {
    const key = tpKey(topic, partition)
    let lowest = Number.POSITIVE_INFINITY
    for (const group of this.groups.values()) {
      const committed = group.committed.get(key)
      if (committed !== undefined) lowest = Math.min(lowest, Number(committed))
      else for (const member of group.members.values()) if (member.topics.includes(topic)) return 0
    }
    return lowest
  }
}
