import { randomUUID } from 'node:crypto'
import { FencedError, LogError, TopicMismatchError } from '../errors.ts'
import { choosePartition } from './partitioner.ts'
import type {
  ConsumerListener,
  ConsumerOptions,
  GroupConsumer,
  Log,
  LogAdmin,
  LogProducer,
  Transaction,
  TransactionalProducer,
} from './port.ts'
import { rangeAssign } from './range-assignor.ts'
import {
  type ConsumedRecord,
  type Headers,
  type ProduceRecord,
  type ReadResult,
  type RecordPosition,
  type TopicPartition,
  type TopicSpec,
  lastPerPartition,
  tpKey,
} from './types.ts'

/**
 * The in-memory log: the embedded default and the fast test bed. Same contracts as Kafka, in one
 * process: keyed partitioning with Kafka's partitioner, consumer groups with range assignment and
 * generations, committed offsets, and transactions whose records and offsets appear at once on
 * commit (so every reader is read_committed). Nothing survives the process.
 */

interface StoredRecord {
  key: string | undefined
  value: Buffer
  headers: Headers
  timestamp: number
}

/** Wakes every waiter on the next change. */
class Signal {
  #waiters: Array<() => void> = []
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve))
  }
  fire(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

class MemoryGroup {
  generation = 0
  readonly members = new Map<string, MemoryConsumer>()
  readonly committed = new Map<string, bigint>()
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
}

/** The shared state behind one or more MemoryLog instances (one "cluster"). */
export class MemoryCluster {
  readonly topics = new Map<string, StoredRecord[][]>()
  readonly groups = new Map<string, MemoryGroup>()
  readonly epochs = new Map<string, number>()
  readonly changed = new Signal()
  #roundRobin = 0

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
    return records.map((record) => {
      const partitions = this.topic(record.topic)
      const partition = choosePartition(record, partitions.length) ?? this.#roundRobin++ % partitions.length
      return { record, partition }
    })
  }

  append(placed: Array<{ record: ProduceRecord; partition: number }>): RecordPosition[] {
    const now = Date.now()
    const positions = placed.map(({ record, partition }) => {
      const log = this.topic(record.topic)[partition]
      log.push({
        key: record.key,
        value: Buffer.from(record.value),
        headers: { ...record.headers },
        timestamp: now,
      })
      return { topic: record.topic, partition, offset: BigInt(log.length - 1) }
    })
    if (positions.length > 0) this.changed.fire()
    return positions
  }
}

class MemoryAdmin implements LogAdmin {
  constructor(private readonly cluster: MemoryCluster) {}

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      const existing = this.cluster.topics.get(spec.name)
      if (existing && existing.length !== spec.partitions) {
        throw new TopicMismatchError(
          `topic ${spec.name} has ${existing.length} partitions, expected ${spec.partitions}`,
        )
      }
    }
    for (const spec of specs) {
      if (!this.cluster.topics.has(spec.name)) {
        this.cluster.topics.set(spec.name, Array.from({ length: spec.partitions }, () => []))
      }
    }
  }

  async describeTopics(names: string[]) {
    return names
      .filter((name) => this.cluster.topics.has(name))
      .map((name) => ({ name, partitions: this.cluster.topic(name).length }))
  }

  async endOffsets(topic: string): Promise<bigint[]> {
    return this.cluster.topic(topic).map((log) => BigInt(log.length))
  }

  async committedOffsets(groupId: string): Promise<RecordPosition[]> {
    const committed = this.cluster.groups.get(groupId)?.committed ?? new Map<string, bigint>()
    return [...committed].map(([key, offset]) => {
      const at = key.lastIndexOf(':')
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset }
    })
  }

  async deleteTopics(names: string[]): Promise<void> {
    for (const name of names) this.cluster.topics.delete(name)
  }
}

class MemoryProducer implements LogProducer {
  constructor(private readonly cluster: MemoryCluster) {}
  async send(records: ProduceRecord[]): Promise<RecordPosition[]> {
    return this.cluster.append(this.cluster.place(records))
  }
  async close(): Promise<void> {}
}

class MemoryTransactionalProducer implements TransactionalProducer {
  #epoch = 0
  constructor(
    private readonly cluster: MemoryCluster,
    readonly transactionalId: string,
  ) {}

  async init(): Promise<void> {
    if (this.#epoch > 0 && this.cluster.epochs.get(this.transactionalId) === this.#epoch) return
    this.#epoch = (this.cluster.epochs.get(this.transactionalId) ?? 0) + 1
    this.cluster.epochs.set(this.transactionalId, this.#epoch)
  }

  async begin(): Promise<Transaction> {
    await this.init()
    const cluster = this.cluster
    const epoch = this.#epoch
    const id = this.transactionalId
    const pending: Array<{ record: ProduceRecord; partition: number }> = []
    const offsets: Array<{ group: MemoryGroup; member: string; record: ConsumedRecord }> = []
    let done = false
    const open = () => {
      if (done) throw new LogError('transaction already completed')
    }
    return {
      async send(records) {
        open()
        pending.push(...cluster.place(records))
      },
      async sendOffsets(consumer, records) {
        open()
        const group = cluster.group(consumer.groupId)
        const member = (consumer as MemoryConsumer).memberId
        for (const record of records) offsets.push({ group, member, record })
      },
      async commit() {
        open()
        done = true
        if (cluster.epochs.get(id) !== epoch) {
          throw new FencedError(`transactional id ${id} was taken over by a newer producer`)
        }
        for (const { group, member, record } of offsets) {
          if (record.generation !== group.generation || !group.members.has(member)) {
            throw new FencedError(
              `group ${group.id} moved to generation ${group.generation}; offsets of generation ${record.generation} refused`,
            )
          }
        }
        cluster.append(pending)
        for (const { group, record } of offsets) {
          const key = tpKey(record.topic, record.partition)
          const next = record.offset + 1n
          if ((group.committed.get(key) ?? -1n) < next) group.committed.set(key, next)
        }
      },
      async abort() {
        done = true
      },
    }
  }

  async close(): Promise<void> {}
}

class MemoryConsumer implements GroupConsumer {
  readonly memberId = randomUUID()
  readonly topics: string[]
  #listener: ConsumerListener | undefined
  #assignment: TopicPartition[] = []
  #generation = 0
  /** Where delivery goes on, per assigned partition (set before the assignment takes effect). */
  #cursors: Array<TopicPartition & { next: number }> = []
  #closed = false
  #loop: Promise<void> | undefined

  constructor(
    private readonly cluster: MemoryCluster,
    private readonly options: ConsumerOptions,
    private readonly maxBatch: number,
  ) {
    this.topics = [...options.topics]
  }

  get groupId(): string {
    return this.options.groupId
  }

  async start(listener: ConsumerListener): Promise<void> {
    for (const topic of this.topics) this.cluster.topic(topic)
    this.#listener = listener
    const group = this.cluster.group(this.groupId)
    group.members.set(this.memberId, this)
    await group.rebalance()
    this.#loop = this.#deliver()
  }

  assignment(): TopicPartition[] {
    return [...this.#assignment]
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    const group = this.cluster.group(this.groupId)
    const result = new Map<string, bigint>()
    for (const { topic, partition } of partitions) {
      const key = tpKey(topic, partition)
      const offset = group.committed.get(key)
      if (offset !== undefined) result.set(key, offset)
    }
    return result
  }

  async commit(records: ConsumedRecord[]): Promise<void> {
    const group = this.cluster.group(this.groupId)
    for (const record of lastPerPartition(records)) {
      if (record.generation !== group.generation || !group.members.has(this.memberId)) {
        throw new FencedError(`group ${group.id} moved to generation ${group.generation}; offsets of generation ${record.generation} refused`)
      }
      const key = tpKey(record.topic, record.partition)
      if ((group.committed.get(key) ?? -1n) < record.offset + 1n) group.committed.set(key, record.offset + 1n)
    }
  }

  async revokeAll(): Promise<void> {
    const revoked = this.#assignment
    this.#assignment = []
    if (revoked.length > 0) await this.#listener?.onRevoked(revoked)
  }

  async assign(partitions: TopicPartition[], generation: number): Promise<void> {
    const group = this.cluster.group(this.groupId)
    this.#generation = generation
    this.#cursors = partitions.map(({ topic, partition }) => ({ topic, partition, next: Number(group.committed.get(tpKey(topic, partition)) ?? 0n) }))
    await this.#listener?.onAssigned(partitions, generation)
    this.#assignment = partitions
  }

  async #deliver(): Promise<void> {
    while (!this.#closed) {
      const changed = this.cluster.changed.wait()
      let delivered = false
      const cursors = this.#assignment.length > 0 ? this.#cursors : []
      for (const cursor of cursors) {
        const { topic, partition, next: from } = cursor
        const generation = this.#generation
        const log = this.cluster.topics.get(topic)?.[partition]
        if (!log || log.length <= from) continue
        const records: ConsumedRecord[] = log.slice(from, from + this.maxBatch).map((r, i) => ({
          topic,
          partition,
          offset: BigInt(from + i),
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp,
          generation,
        }))
        await this.#listener!.onRecords(records)
        if (this.#generation === generation && !this.#closed) {
          cursor.next = from + records.length
          delivered = true
        }
      }
      if (!delivered) await changed
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    const group = this.cluster.group(this.groupId)
    if (group.members.delete(this.memberId)) {
      await this.revokeAll()
      await group.rebalance()
    }
    this.#closed = true
    this.cluster.changed.fire()
    await this.#loop
  }
}

export interface MemoryLogOptions {
  /** Share one cluster between several logs to stand for several processes. */
  cluster?: MemoryCluster
  /** Most records per onRecords call. */
  maxBatch?: number
}

export class MemoryLog implements Log {
  readonly kind = 'memory' as const
  readonly cluster: MemoryCluster
  readonly admin: LogAdmin
  readonly #consumers = new Set<MemoryConsumer>()
  readonly #maxBatch: number

  constructor(options: MemoryLogOptions = {}) {
    this.cluster = options.cluster ?? new MemoryCluster()
    this.admin = new MemoryAdmin(this.cluster)
    this.#maxBatch = options.maxBatch ?? 500
  }

  producer(): LogProducer {
    return new MemoryProducer(this.cluster)
  }

  transactionalProducer({ transactionalId }: { transactionalId: string }): TransactionalProducer {
    return new MemoryTransactionalProducer(this.cluster, transactionalId)
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    const consumer = new MemoryConsumer(this.cluster, options, this.#maxBatch)
    this.#consumers.add(consumer)
    return consumer
  }

  async read(from: RecordPosition[]): Promise<ReadResult[]> {
    return from.map(({ topic, partition, offset }) => {
      const log = this.cluster.topic(topic)[partition]
      if (!log) throw new LogError(`topic ${topic} has no partition ${partition}`)
      const start = Number(offset)
      const records = log.slice(start, start + this.#maxBatch).map((stored, i) => ({
        ...stored,
        headers: { ...stored.headers },
        topic,
        partition,
        offset: BigInt(start + i),
        generation: -1,
      }))
      return { topic, partition, records, next: offset + BigInt(records.length) }
    })
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.close()))
    this.#consumers.clear()
  }
}
