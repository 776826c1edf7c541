import { OutcomeUnknownError, UnavailableError } from '../../errors.ts'
import type { TransactionalProducer } from '../../kafka/port.ts'
import type { ProduceRecord, RecordPosition } from '../../kafka/types.ts'
import type { Logger } from '../../log.ts'
import type { Metrics } from '../../observability/metrics.ts'
import { Spacing } from '../../time.ts'

interface Waiting {
  records: ProduceRecord[]
  /** Date.now() by which the caller must have its answer. */
  deadline: number
  /** With the positions of its records, in order, once committed. */
  resolve: (positions: RecordPosition[]) => void
  reject: (error: Error) => void
  /** Refuses the caller at its deadline while it is still queued (a transaction may hang for long). */
  timer: Timer
}

export interface TransactionalPublisherOptions {
  producer: TransactionalProducer
  logger: Logger
  /** Its transactions count as the group members' do, with the group label `api` (batches: the calls each carried). */
  metrics: Metrics
  /** Records per transaction at most (a call's records always travel together). */
  maxBatchRecords: number
  /**
   * The least time from the start of one transaction to the start of the next, in ms, unless
   * `commitRecords` wait sooner (Kafka's linger.ms and batch.size, per transaction). 0: the next
   * begins as soon as the one before ends.
   */
  commitIntervalMs: number
  /** Records waiting that start the next transaction before `commitIntervalMs` has passed. */
  commitRecords: number
}

/**
 * Publishes the API's records in Kafka transactions, so that an answer the API gives is one it can
 * stand behind: a call resolves only once its transaction committed; it rejects with
 * UnavailableError when the transaction did not commit (nothing of it will ever be read, since
 * readers are read_committed), and with OutcomeUnknownError only when the commit was asked for but
 * not confirmed by the caller's deadline.
 *
 * Calls made while a transaction is in flight, or within `commitIntervalMs` of its start, leave
 * together in the next one (which starts sooner once `commitRecords` wait). A transaction
 * starts its commit only while every caller in it still has time; once its deadline passes before
 * the commit, it is aborted; a call still queued at its deadline is refused. After a failure the broker counts as unavailable (readiness says so)
 * and, while the failed transaction is still settling, new calls are refused at once instead of
 * queueing behind it.
 */
export class TransactionalPublisher {
  #queue: Waiting[] = []
  #busy = false
  #available = true
  #initialized = false
  /** Records of the callers in `#queue`. */
  #queuedRecords = 0
  /** Transactions taken at least `commitIntervalMs` apart, sooner once `commitRecords` wait. */
  readonly #spacing: Spacing
  /** The drain loop in flight (every caller queued or in a transaction settles by its deadline). */
  #drained: Promise<void> = Promise.resolve()

  constructor(private readonly options: TransactionalPublisherOptions) {
    this.#spacing = new Spacing(options.commitIntervalMs)
    for (const result of ['committed', 'aborted']) options.metrics.transactions.inc({ group: 'api', result }, 0)
  }

  /** False from a failed transaction until one commits again. */
  get available(): boolean {
    return this.#available
  }

  /** Registers the producer (fencing an older instance of its transactional id). */
  async init(): Promise<void> {
    await this.options.producer.init()
    this.#initialized = true
  }

  /**
   * Lets the callers already queued or in a transaction settle (each by its deadline), then closes
   * the producer. Closed under them, their transaction failed and a caller whose commit was asked
   * for got no certain answer (`shutdown.test.ts`: 6 such orders in one run, once the api's views
   * stopped within milliseconds instead of after their long polls).
   */
  async close(): Promise<void> {
    await this.#drained
    await this.options.producer.close()
  }

  publish(records: ProduceRecord[], deadline: number): Promise<RecordPosition[]> {
    if (!this.#available && this.#busy) {
      return Promise.reject(new UnavailableError('the broker is not reachable; nothing was published'))
    }
    return new Promise<RecordPosition[]>((resolve, reject) => {
      const waiting: Waiting = { records, deadline, resolve, reject, timer: setTimeout(() => this.#expire(waiting), Math.max(0, deadline - Date.now())) }
      this.#queue.push(waiting)
      this.#queuedRecords += records.length
      if (this.#enough()) this.#spacing.go()
      if (!this.#busy) this.#drained = this.#drain()
    })
  }

  /** A caller still queued at its deadline: nothing of its was sent, so it is refused. */
  #expire(waiting: Waiting): void {
    const at = this.#queue.indexOf(waiting)
    if (at < 0) return
    this.#queue.splice(at, 1)
    this.#queuedRecords -= waiting.records.length
    waiting.reject(refused())
  }

  async #drain(): Promise<void> {
    this.#busy = true
    try {
      while (this.#queue.length > 0) {
        await this.#spacing.next(this.#enough)
        const batch: Waiting[] = []
        let count = 0
        while (this.#queue.length > 0 && (batch.length === 0 || count + this.#queue[0].records.length <= this.options.maxBatchRecords)) {
          const next = this.#queue.shift()!
          this.#queuedRecords -= next.records.length
          clearTimeout(next.timer)
          if (Date.now() >= next.deadline) {
            next.reject(refused())
            continue
          }
          batch.push(next)
          count += next.records.length
        }
        if (batch.length > 0) await this.#transaction(batch)
      }
    } finally {
      this.#busy = false
    }
  }

  /**
   * Whether enough records wait to start a transaction before `commitIntervalMs` has passed. Each
   * transaction costs the broker requests, a marker per partition and a wake-up of every
   * read_committed fetch of those partitions, whatever its size: at a quarter of the throughput,
   * transactions back to back kept the machine busy (docs/performance.md, "The api's commit interval").
   */
  readonly #enough = (): boolean => this.#queuedRecords >= this.options.commitRecords

  /** One transaction for `batch`; settles every caller by its deadline, whatever the broker does. */
  async #transaction(batch: Waiting[]): Promise<void> {
    const deadline = Math.min(...batch.map((w) => w.deadline))
    let expired = false
    let committing = false
    const { metrics } = this.options
    const work = (async () => {
      if (!this.#initialized) await this.init()
      const began = performance.now()
      const transaction = await this.options.producer.begin()
      try {
        await transaction.send(batch.flatMap((w) => w.records))
        if (expired) throw new UnavailableError('deadline passed before the commit')
        committing = true
        const positions = await transaction.commit()
        metrics.transactions.inc({ group: 'api', result: 'committed' })
        metrics.transactionDuration.observe({ group: 'api' }, (performance.now() - began) / 1000)
        metrics.transactionBatches.observe({ group: 'api' }, batch.length)
        return positions
      } catch (error) {
        metrics.transactions.inc({ group: 'api', result: 'aborted' })
        if (!committing) await transaction.abort().catch(() => {})
        throw error
      }
    })()
    let timer: Timer | undefined
    const timeout = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - Date.now()))))
    const settle = (error: Error) => {
      for (const w of batch) w.reject(error)
    }
    try {
      const first = await Promise.race([work, timeout])
      if (first !== 'expired') {
        this.#available = true
        let at = 0
        for (const w of batch) w.resolve(first.slice(at, (at += w.records.length)))
        return
      }
      expired = true
      this.#available = false
      settle(committing ? unknown() : refused())
      this.options.logger.warn({ event: 'api:publish:expired', orders: batch.length, committing })
      // The next transaction waits for this one to settle: one transaction at a time per producer.
      await work.then(() => (this.#available = true)).catch(() => {})
    } catch (error) {
      this.#available = false
      this.options.logger.warn({ event: 'api:publish:failed', orders: batch.length, committing, err: error })
      settle(committing ? unknown() : refused())
    } finally {
      clearTimeout(timer)
    }
  }
}

const refused = () => new UnavailableError('the broker did not take the order in time; nothing was published')
const unknown = () => new OutcomeUnknownError('the broker did not confirm the order in time; it may be placed')
