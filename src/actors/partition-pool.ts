import type { Actor } from './actor.ts'
import type { Supervisor } from './supervisor.ts'
import type { Behavior } from './types.ts'
import type { ConsumerListener } from '../kafka/port.ts'
import type { ConsumedRecord, TopicPartition } from '../kafka/types.ts'

export interface PartitionPoolOptions {
  /** Actor names are `${name}-${partition}`. */
  name: string
  supervisor: Supervisor
  /** The behavior of the actor that owns partition `partition` (of every subscribed topic) in `generation`. */
  create: (partition: number, generation: number) => Behavior<ConsumedRecord[]>
  /** Batches queued per actor before delivery waits (backpressure on the consumer). */
  maxQueuedBatches?: number
  /** The consumer failed; the role restarts it. */
  onConsumerError?: (error: Error) => void
}

/**
 * One actor per assigned partition number. Co-partitioned topics (equal partition counts, range
 * assignment) deliver partition p of each topic to the same actor, in offset order per topic.
 * On revocation an actor finishes the batch in hand and stops; queued batches are dropped, since
 * the partition's next owner reads them again from the committed offset.
 */
export class PartitionPool implements ConsumerListener {
  readonly #actors = new Map<number, Actor<ConsumedRecord[]>>()
  readonly #maxQueued: number

  constructor(private readonly options: PartitionPoolOptions) {
    this.#maxQueued = options.maxQueuedBatches ?? 64
  }

  /** Partition numbers with a live actor. */
  partitions(): number[] {
    return [...this.#actors.keys()].sort((a, b) => a - b)
  }

  actor(partition: number): Actor<ConsumedRecord[]> | undefined {
    return this.#actors.get(partition)
  }

  onAssigned(partitions: TopicPartition[], generation: number): void {
    for (const partition of new Set(partitions.map((tp) => tp.partition))) {
      if (this.#actors.has(partition)) continue
      const actor = this.options.supervisor.spawn(`${this.options.name}-${partition}`, () =>
        this.options.create(partition, generation),
      )
      this.#actors.set(partition, actor)
    }
  }

  async onRevoked(partitions: TopicPartition[]): Promise<void> {
    const stopping = [...new Set(partitions.map((tp) => tp.partition))].flatMap((partition) => {
      const actor = this.#actors.get(partition)
      this.#actors.delete(partition)
      return actor ? [actor.stop('now')] : []
    })
    await Promise.all(stopping)
  }

  async onRecords(records: ConsumedRecord[]): Promise<void> {
    const actor = this.#actors.get(records[0].partition)
    if (!actor || actor.status === 'stopping' || actor.status === 'failed' || actor.status === 'stopped') return
    actor.tell(records)
    await actor.whenBelow(this.#maxQueued)
  }

  onError(error: Error): void {
    this.options.onConsumerError?.(error)
  }

  /** Stops every actor after its current batch. */
  async stop(): Promise<void> {
    await this.onRevoked([...this.#actors.keys()].map((partition) => ({ topic: '', partition })))
  }
}
