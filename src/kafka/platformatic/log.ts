import { randomUUID } from 'node:crypto'
import { LogError } from '../../errors.ts'
import { backoffDelay } from '../../time.ts'
import { hasProtocolError } from './call.ts'
import type { ConsumerOptions, GroupConsumer, Log, LogProducer, TransactionalProducer } from '../port.ts'
import type { ReadResult, RecordPosition } from '../types.ts'
import { KafkaAdmin } from './admin.ts'
import { KafkaConsumer } from './consumer.ts'
import { type ClientBase, type KafkaLogOptions, kafkaLogDefaults } from './options.ts'
import { Placement } from './placement.ts'
import { idempotentProducer } from './producer.ts'
import { PartitionReader } from './reader.ts'
import { transactionalProducer } from './transactional-producer.ts'

/** The client's own retries of a failed request: 3, backing off from 250 ms (shop's one backoff rule). */
const clientRetries = { retries: 3, retryDelay: (_client: unknown, _operation: string, attempt: number) => backoffDelay({ minMs: 250, maxMs: 2_000, factor: 2 }, attempt) }

/**
 * Retries of transactional producers. Right after a commit, the next transaction's
 * AddPartitionsToTxn (or AddOffsetsToTxn) is answered CONCURRENT_TRANSACTIONS until the previous
 * transaction's markers are written, which takes a few ms: that case is retried after
 * `concurrentTransactionsRetryMs`, doubling up to 20 ms (the Java client waits a flat 20 ms).
 * Other retriable errors back off from 20 ms by 5x up to 2 s. Retries are not counted: every call
 * ends at its deadline (`call`), and a client whose call failed is closed, which ends its pending
 * retries. A count cut CONCURRENT_TRANSACTIONS short: 25 attempts span ~450 ms, and a coordinator
 * answered it for longer once, right after a deployment started (`bun bench latency`: the api's
 * first order failed with "addPartitionsToTransaction failed 26 times" and a 503; the broker's log
 * said nothing of why), where the Java client retries until its delivery timeout.
 */
export function transactionRetries(concurrentTransactionsRetryMs: number) {
  return {
    retries: Number.POSITIVE_INFINITY,
    retryDelay: (_client: unknown, _operation: string, attempt: number, _retries: number, error: unknown) =>
      hasProtocolError(error, 'CONCURRENT_TRANSACTIONS')
        ? backoffDelay({ minMs: concurrentTransactionsRetryMs, maxMs: Math.max(20, concurrentTransactionsRetryMs), factor: 2 }, attempt)
        : backoffDelay({ minMs: 20, maxMs: 2_000, factor: 5 }, attempt),
  }
}

/**
 * The Kafka adapter, on @platformatic/kafka (pure TypeScript; runs inside Bun, unlike librdkafka
 * bindings). Every call that waits on the broker has a deadline. See port.ts for the contracts.
 */
export class KafkaLog implements Log {
  readonly kind = 'kafka' as const
  readonly admin: KafkaAdmin
  readonly #options: Required<KafkaLogOptions>
  readonly #closers = new Set<() => Promise<void>>()
  readonly #placement: Placement
  #reader: PartitionReader | undefined
  /** Readers free for a long poll; each waits for one caller at a time, so a view's poll never holds up a restore. */
  readonly #idlePollers: PartitionReader[] = []

  constructor(options: KafkaLogOptions) {
    this.#options = { ...kafkaLogDefaults, ...options }
    this.admin = new KafkaAdmin(this.#base('admin'))
    this.#track(() => this.admin.close())
    this.#placement = new Placement(async (topics) => {
      const described = await this.admin.describeTopics(topics)
      return new Map(described.map((d) => [d.name, d.partitions]))
    })
  }

  #base(role: string): ClientBase {
    return { clientId: `${this.#options.clientId}-${role}`, bootstrapBrokers: this.#options.brokers, ...this.#options.security, timeout: this.#options.requestTimeoutMs, ...clientRetries }
  }

  /** Registers a client's close with this log; the returned function closes it once. */
  readonly #track = (close: () => Promise<void>): (() => Promise<void>) => {
    const once = async () => {
      if (!this.#closers.delete(once)) return
      await close()
    }
    this.#closers.add(once)
    return once
  }

  producer(): LogProducer {
    return idempotentProducer(this.#base('producer'), this.#placement, this.#options.maxRequestBytes, this.#track)
  }

  transactionalProducer({ transactionalId }: { transactionalId: string }): TransactionalProducer {
    const base = { ...this.#base(`tx-${transactionalId}`), ...transactionRetries(this.#options.concurrentTransactionsRetryMs) }
    return transactionalProducer(transactionalId, base, this.#placement, this.#options.maxRequestBytes, this.#track)
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    const consumer = new KafkaConsumer(options, {
      ...this.#base(options.clientId ?? `consumer-${randomUUID().slice(0, 8)}`),
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      maxBufferedRecords: this.#options.maxBufferedRecords,
      read: (from) => this.read(from),
      warn: this.#options.warn,
      info: this.#options.info,
    })
    consumer.onClose = this.#track(() => consumer.shutdown())
    return consumer
  }

  async read(from: RecordPosition[], options: { maxWaitMs?: number } = {}): Promise<ReadResult[]> {
    const maxWaitMs = options.maxWaitMs ?? 0
    if (maxWaitMs === 0) {
      this.#reader ??= this.#newReader('reader')
      return this.#reader.read(from)
    }
    const poller = this.#idlePollers.pop() ?? this.#newReader(`poller-${randomUUID().slice(0, 8)}`)
    try {
      return await poller.read(from, maxWaitMs)
    } finally {
      this.#idlePollers.push(poller)
    }
  }

  #newReader(name: string): PartitionReader {
    const reader = new PartitionReader(this.#base(name))
    this.#track(() => reader.close())
    return reader
  }

  async close(): Promise<void> {
    const errors: unknown[] = []
    for (const close of [...this.#closers].reverse()) await close().catch((e) => errors.push(e))
    if (errors.length > 0) throw new LogError('closing Kafka clients failed', { cause: new AggregateError(errors) })
  }
}
