import type { Actor } from './actor.ts'
import type { Supervisor } from './supervisor.ts'
import type { Behavior } from './types.ts'
import type { ConsumerListener } from '../../kafka/port.ts'
import type { ConsumedRecord, TopicPartition } from '../../kafka/types.ts'

export interface PartitionPoolOptions {
  /** Actor names are `${name}-${partition}`. */
  name: string
  supervisor: Supervisor
  /** The behavior of the actor that owns partition `partition` (of every subscribed topic) in `generation`; `waiting`: batches in its mailbox. */
  create: (partition: number, generation: number, waiting: () => number) => Behavior<ConsumedRecord[]>
  /**
   * Batches queued per actor before delivery waits (backpressure on the consumer; default 2: the
   * next transaction is ready when the one in hand commits, and the rest waits in Kafka). At 64,
   * draining a backlog held most of it in memory (`bun bench stream`).
   */
  maxQueuedBatches?: number
  /** Records per batch at most: one batch is one transaction of a transactional actor. */
  maxBatchRecords?: number
  /** How long a batch of an idle actor waits for more records before it is handed over (0: at once). */
  batchLingerMs?: number
  /** The consumer failed; the role restarts it. */
  onConsumerError?: (error: Error) => void
  /**
   * When set, an actor whose partition delivers nothing for this long (from its start, or since its
   * last records) is told an empty batch, once per quiet spell: its cue to report that it is idle.
   */
  idleAfterMs?: number
}

/**
 * One actor per assigned partition number. Co-partitioned topics (equal partition counts, range
 * assignment) deliver partition p of each topic to the same actor, in offset order per topic.
 * On revocation an actor finishes the batch in hand and stops; queued batches are dropped, since
 * the partition's next owner reads them again from the committed offset.
 */
export class PartitionPool implements ConsumerListener {
  readonly #actors = new Map<number, Actor<ConsumedRecord[]>>()
  /** Per partition, the newest batch: it grows while it waits (lingering, or queued behind a busy actor). */
  readonly #open = new Map<number, { records: ConsumedRecord[]; told: boolean; timer?: Timer }>()
  readonly #maxQueued: number
  readonly #maxBatch: number
  readonly #lingerMs: number
  /** Per partition, the timer that tells its actor it is idle. */
  readonly #idle = new Map<number, Timer>()

  constructor(private readonly options: PartitionPoolOptions) {
    this.#maxQueued = options.maxQueuedBatches ?? 2
    this.#maxBatch = options.maxBatchRecords ?? 500
    this.#lingerMs = options.batchLingerMs ?? 0
  }

  /** Partition numbers with a live actor. */
  partitions(): number[] {
    return [...this.#actors.keys()].sort((a, b) => a - b)
  }

  onAssigned(partitions: TopicPartition[], generation: number): void {
    for (const partition of new Set(partitions.map((tp) => tp.partition))) {
      if (this.#actors.has(partition)) continue
      const actor: Actor<ConsumedRecord[]> = this.options.supervisor.spawn(`${this.options.name}-${partition}`, () =>
        this.options.create(partition, generation, () => actor.queued),
      )
      this.#actors.set(partition, actor)
      this.#quiet(partition, actor)
    }
  }

  /** (Re)starts the partition's idle timer: records just came, or its actor just started. */
  #quiet(partition: number, actor: Actor<ConsumedRecord[]>): void {
    const ms = this.options.idleAfterMs
    if (ms === undefined) return
    clearTimeout(this.#idle.get(partition))
    const timer = setTimeout(() => {
      this.#idle.delete(partition)
      const open = this.#open.get(partition)
      if (this.#actors.get(partition) !== actor || (open && !open.told) || actor.queued > 0) return this.#quiet(partition, actor)
      if (actor.status === 'running' || actor.status === 'starting') actor.tell([])
    }, ms)
    timer.unref?.()
    this.#idle.set(partition, timer)
  }

  async onRevoked(partitions: TopicPartition[]): Promise<void> {
    const stopping = [...new Set(partitions.map((tp) => tp.partition))].flatMap((partition) => {
      const actor = this.#actors.get(partition)
      this.#actors.delete(partition)
      clearTimeout(this.#open.get(partition)?.timer)
      this.#open.delete(partition)
      clearTimeout(this.#idle.get(partition))
      this.#idle.delete(partition)
      return actor ? [actor.stop('now')] : []
    })
    await Promise.all(stopping)
  }

  /**
   * Batches records for the partition's actor. Records join the newest batch while it has room and
   * has not reached the actor (lingering, or queued behind the batch in hand), so that a busy actor
   * commits larger transactions; otherwise they start a new batch.
   */
  async onRecords(records: ConsumedRecord[]): Promise<void> {
    // One fetch may bring more than a batch (a backlog: ~2,000 orders per MiB); each batch is one
    // transaction, and a transaction of thousands of records only makes a larger burst of garbage.
    for (let i = 0; i < records.length; i += this.#maxBatch) await this.#batch(records.slice(i, i + this.#maxBatch))
  }

  async #batch(records: ConsumedRecord[]): Promise<void> {
    const partition = records[0].partition
    const actor = this.#actors.get(partition)
    if (!actor || actor.status === 'stopping' || actor.status === 'failed' || actor.status === 'stopped') return
    this.#quiet(partition, actor)
    const open = this.#open.get(partition)
    const waiting = open && (!open.told || actor.queued > 0)
    if (open && waiting && open.records.length + records.length <= this.#maxBatch) {
      open.records.push(...records)
      if (!open.told && open.records.length >= this.#maxBatch) this.#hand(partition, actor)
    } else {
      if (open && !open.told) this.#hand(partition, actor)
      this.#open.set(partition, { records: [...records], told: false })
      if (this.#lingerMs === 0 || records.length >= this.#maxBatch) this.#hand(partition, actor)
      else this.#open.get(partition)!.timer = setTimeout(() => this.#hand(partition, actor), this.#lingerMs)
    }
    await actor.whenBelow(this.#maxQueued)
  }

  #hand(partition: number, actor: Actor<ConsumedRecord[]>): void {
    const open = this.#open.get(partition)
    if (!open || open.told || this.#actors.get(partition) !== actor) return
    clearTimeout(open.timer)
    open.told = true
    if (actor.status === 'running' || actor.status === 'starting' || actor.status === 'restarting') actor.tell(open.records)
  }

  onError(error: Error): void {
    this.options.onConsumerError?.(error)
  }

  /** Stops every actor after its current batch. */
  async stop(): Promise<void> {
    await this.onRevoked([...this.#actors.keys()].map((partition) => ({ topic: '', partition })))
  }
}
