import type { ConsumedRecord, ProduceRecord } from '../../../kafka/types.ts'

/** What a handler may do while processing one record; everything lands in the step's transaction. */
export interface StepContext {
  /** The partition the actor owns. */
  readonly partition: number
  /** Queues an output record. */
  send(record: ProduceRecord): void
  get<V>(store: string, key: string): V | undefined
  /** Stages a state change: a changelog record now, the cache after commit. */
  put<V>(store: string, key: string, value: V): void
  /** Sends the record being handled to the dead-letter topic with `error`, and carries on. */
  deadLetter(error: unknown): void
  /** Runs `effect` once the step's transaction committed (metrics); never for an aborted attempt. */
  afterCommit(effect: () => void): void
  /**
   * Scratch of the batch being handled, shared by its records' steps and `endBatch`, and gone
   * after it: never committed, never restored. Unlike `put`, what a step writes here stays when the
   * step then fails; so a step writes it only once nothing of it can fail.
   */
  readonly batch: Map<string, unknown>
}

/**
 * The business logic of a transactional partition actor. `handle` sees each record once per
 * attempt; its outputs and state changes commit with the record's offset, or not at all. It must
 * be deterministic in its state: after an abort the records are handled again on reloaded state.
 */
export interface StepHandler {
  /** The state stores the actor owns: store name -> compacted changelog topic. */
  stores: Record<string, string>
  /**
   * The records of a batch are handled side by side rather than one after another: for handlers
   * without stores whose work waits on the outside world (a payment provider, a simulated pick), so
   * that one slow record does not hold up the others of its partition.
   */
  concurrent?: boolean
  /**
   * Output topics read as tables (compacted, the latest value of each key is what counts): of a
   * batch's records to one of them, only the last of each key is sent, as Kafka Streams' record
   * cache does for a KTable. Read-committed readers see a transaction whole, so the values it
   * drops were never anyone's to see; they cost appends, and their readers' work.
   */
  tables?: string[]
  handle(record: ConsumedRecord, ctx: StepContext): Promise<void> | void
  /**
   * Runs once after the records of a batch (not after an idle step), on the batch's context: what
   * it sends follows the records' outputs in the transaction. The aggregator sends here the counts
   * it summed over the batch, one record per window instead of one per order and outcome.
   */
  endBatch?(ctx: StepContext): void
  /**
   * A step without input, run in its own transaction when the partition has delivered nothing for
   * `afterMs` (once per quiet spell, and once after the actor starts on a quiet partition) and
   * nothing committed is left to read past the group's offsets: what a handler tells the world
   * when it has nothing to read (the aggregator's idle source partitions).
   */
  idle?: { afterMs: number; handle(ctx: StepContext): void }
}
