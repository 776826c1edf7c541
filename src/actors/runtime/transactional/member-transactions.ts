import type { GroupConsumer, TransactionalProducer } from '../../../kafka/port.ts'
import type { ConsumedRecord, ProduceRecord, RecordPosition } from '../../../kafka/types.ts'
import type { Logger } from '../../../log.ts'
import type { Metrics } from '../../../observability/metrics.ts'
import { Spacing } from '../../../time.ts'

/** One partition actor's batch, waiting for the member's next transaction. */
interface Part {
  outputs: ProduceRecord[]
  records: ConsumedRecord[]
  settled: PromiseWithResolvers<RecordPosition[]>
}

export interface MemberTransactionsOptions {
  producer: TransactionalProducer
  /** The group member that delivered the records (their offsets join each transaction). */
  consumer: () => GroupConsumer
  /** Input records per transaction at most (a batch larger than this still commits whole, alone). */
  maxRecords: number
  /**
   * The least time from the start of one transaction to the start of the next (Kafka Streams'
   * `commit.interval.ms`; default 0: the next begins as soon as the one before ends). Batches
   * ready meanwhile wait and commit together.
   */
  intervalMs?: number
  logger: Logger
  group: string
  /** The metrics' `group` label. */
  groupKind: string
  metrics: Metrics
}

/**
 * The transactions of one consumer-group member: the batches its partition actors have ready
 * commit together, in one Kafka transaction of the member's transactional producer (their outputs,
 * changelog records and input offsets), as Kafka Streams' exactly_once_v2 does per stream thread.
 * While a transaction is in flight, the batches that become ready wait for the next one, so a busy
 * member commits large transactions and a quiet one commits at once; a member off the customer's
 * path (the aggregator) commits at most once per `intervalMs`. A zombie is fenced by the
 * group generation its offsets carry (KIP-447), and a restarted process fences its predecessor by
 * the transactional id it shares with it.
 *
 * One transaction per member instead of one per partition cuts the requests, markers and
 * coordinator work per record: each transaction costs AddPartitionsToTxn, AddOffsetsToTxn, an
 * EndTxn and a marker per partition it wrote, whatever its size.
 */
export class MemberTransactions {
  readonly #queue: Part[] = []
  /** Transactions and inits, one after the other (one transaction at a time per producer). */
  #tail: Promise<void> = Promise.resolve()
  #scheduled = false
  /** Transactions taken at least `intervalMs` apart. */
  readonly #spacing: Spacing

  constructor(private readonly options: MemberTransactionsOptions) {
    this.#spacing = new Spacing(options.intervalMs ?? 0)
  }

  /**
   * Commits `outputs` and the offsets of `records` in the member's next transaction. Resolves with
   * the positions of `outputs`, in order, once committed; rejects (nothing of it committed, or not
   * known to be) with the transaction's error, which every batch of that transaction shares.
   */
  commit(outputs: ProduceRecord[], records: ConsumedRecord[]): Promise<RecordPosition[]> {
    const settled = Promise.withResolvers<RecordPosition[]>()
    this.#queue.push({ outputs, records, settled })
    this.#schedule()
    return settled.promise
  }

  /** Settles whatever an earlier transaction left open (see TransactionalProducer.init), between transactions. */
  init(): Promise<void> {
    const done = this.#tail.then(() => this.options.producer.init())
    this.#tail = done.catch(() => {})
    return done
  }

  close(): Promise<void> {
    return this.#tail.then(() => this.options.producer.close())
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    this.#tail = this.#tail.then(async () => {
      // The batches handed over in this turn of the event loop join the same transaction.
      await new Promise((resolve) => setImmediate(resolve))
      await this.#spacing.next()
      this.#scheduled = false
      const parts = this.#take()
      if (this.#queue.length > 0) this.#schedule()
      await this.#transact(parts)
    })
  }

  /** The oldest waiting batches, up to maxRecords inputs (at least one batch). */
  #take(): Part[] {
    let records = 0
    let n = 0
    while (n < this.#queue.length && (n === 0 || records + this.#queue[n].records.length <= this.options.maxRecords)) {
      records += this.#queue[n].records.length
      n++
    }
    return this.#queue.splice(0, n)
  }

  async #transact(parts: Part[]): Promise<void> {
    const { producer, metrics, logger } = this.options
    const labels = { group: this.options.groupKind }
    const began = performance.now()
    const outputs = parts.flatMap((part) => part.outputs)
    const records = parts.flatMap((part) => part.records)
    let transaction
    try {
      transaction = await producer.begin()
      const open = transaction
      const begun = performance.now()
      // The records and the offsets go side by side: each waits only for its own requests (the
      // partitions added, then Produce; the group added, then TxnOffsetCommit), as the Java client
      // sends a transaction's offsets while its records are in flight. Both settle before the
      // commit or the abort, so neither ever races them.
      let sent = begun
      let offsets = begun
      const steps = await Promise.allSettled([
        outputs.length > 0 && open.send(outputs).then(() => (sent = performance.now())),
        records.length > 0 && open.sendOffsets(this.options.consumer(), records).then(() => (offsets = performance.now())),
      ])
      for (const step of steps) if (step.status === 'rejected') throw step.reason
      const ready = performance.now()
      const positions = await transaction.commit()
      const ms = (from: number, to: number) => Math.round((to - from) * 10) / 10
      logger.debug({ event: 'actor:transaction:committed', group: this.options.group, batches: parts.length, records: records.length, outputs: outputs.length, beginMs: ms(began, begun), sendMs: ms(begun, sent), offsetsMs: ms(begun, offsets), commitMs: ms(ready, performance.now()) })
      metrics.transactions.inc({ ...labels, result: 'committed' })
      metrics.transactionDuration.observe(labels, (performance.now() - began) / 1000)
      metrics.transactionBatches.observe(labels, parts.length)
      // Outputs were sent in the order of the parts: each part's positions are its slice.
      let at = 0
      for (const part of parts) {
        part.settled.resolve(positions.slice(at, at + part.outputs.length))
        at += part.outputs.length
      }
    } catch (error) {
      metrics.transactions.inc({ ...labels, result: 'aborted' })
      await transaction?.abort().catch(() => {})
      for (const part of parts) part.settled.reject(error)
    }
  }
}
