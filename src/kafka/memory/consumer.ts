import { randomUUID } from 'node:crypto'
import { FencedError, LogError } from '../../errors.ts'
import type { ConsumerListener, ConsumerOptions, GroupConsumer } from '../port.ts'
import { type ConsumedRecord, type TopicPartition, lastPerPartition, tpKey } from '../types.ts'
import type { MemoryCluster } from './cluster.ts'
import { consumedFrom } from './partition-log.ts'

/** A group member of the memory log: range assignment, generations, one delivery loop over its partitions. */
export class MemoryConsumer implements GroupConsumer {
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

  committed(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    return this.cluster.group(this.groupId).stableCommitted(partitions)
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
    this.#generation = generation
    const committed = await this.cluster.group(this.groupId).stableCommitted(partitions)
    this.#cursors = partitions.map(({ topic, partition }) => ({ topic, partition, next: Number(committed.get(tpKey(topic, partition)) ?? 0n) }))
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
        if (!log || log.end <= from) continue
        const { records, next } = consumedFrom(log, topic, partition, from, this.maxBatch, generation)
        // Only compacted offsets: the position moves past them, as a fetch's does.
        if (records.length === 0) {
          cursor.next = next
          continue
        }
        try {
          await this.#listener!.onRecords(records)
        } catch (error) {
          // As on Kafka: the member reports the failure and delivers nothing more (the loop ends); it
          // stays in its group until its owner closes it and starts a replacement.
          this.#listener!.onError?.(error instanceof Error ? error : new LogError(String(error)))
          return
        }
        if (this.#generation === generation && !this.#closed) {
          cursor.next = next
          delivered = true
        }
      }
      if (!delivered) await changed
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    const group = this.cluster.group(this.groupId)
    if (group.members.has(this.memberId)) {
      // As the Kafka adapter leaves: its partitions revoked first, so that what its listener commits
      // on revocation (a transaction waiting out its commit interval) commits as a member's.
      await this.revokeAll()
      group.members.delete(this.memberId)
      await group.rebalance()
    }
    this.#closed = true
    this.cluster.changed.fire()
    await this.#loop
  }
}

