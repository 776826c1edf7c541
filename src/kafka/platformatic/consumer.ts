import { Admin, FetchIsolationLevels, type MessageConsumerMetadata, MessagesStreamFallbackModes, MessagesStreamModes } from '@platformatic/kafka'
import { FencedError, LogError } from '../../errors.ts'
import { withDeadline } from '../../time.ts'
import type { ConsumerListener, ConsumerOptions, GroupConsumer } from '../port.ts'
import { PositionGuard } from '../position-guard.ts'
import { type ConsumedRecord, type ReadResult, type RecordPosition, type TopicPartition, lastPerPartition, tpKey } from '../types.ts'
import { call } from './call.ts'
import type { ClientBase } from './options.ts'
import { consumedRecords } from './records.ts'
import { StableOffsetsConsumer, rangePartitionAssigner } from './stable-offsets-consumer.ts'

/**
 * The group generation and member each record a Kafka consumer delivered was delivered under,
 * which its offset's TxnOffsetCommit carries (txn-offsets.ts). Not the coordinator the client knew
 * then: the offsets go to the one the consumer knows when they are sent.
 */
export type ConsumedOrigin = Pick<MessageConsumerMetadata, 'groupId' | 'generationId' | 'memberId'>
export const consumedOrigins = new WeakMap<ConsumedRecord, ConsumedOrigin>()

export interface KafkaConsumerSettings extends ClientBase {
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  maxBufferedRecords: number
  read: (from: RecordPosition[]) => Promise<ReadResult[]>
  warn: (entry: Record<string, unknown>) => void
  info: (entry: Record<string, unknown>) => void
}

export class KafkaConsumer implements GroupConsumer {
  readonly client: StableOffsetsConsumer
  onClose: () => Promise<void> = async () => {}
  #listener: ConsumerListener | undefined
  #stream: Awaited<ReturnType<StableOffsetsConsumer['consume']>> | undefined
  #assignment: TopicPartition[] = []
  #generation = -1
  /** Assignment changes and deliveries run one after another, in event order. */
  #chain: Promise<void> = Promise.resolve()
  #buffered = 0
  #pending: ConsumedRecord[] = []
  #deliveryQueued = false
  /** Set once the listener failed: nothing more is delivered (the port's contract). */
  #failed = false
  #closed = false
  readonly #guard: PositionGuard

  constructor(
    private readonly options: ConsumerOptions,
    private readonly settings: KafkaConsumerSettings,
  ) {
    // A skipped range is the client's fault (warned); one received before a rebalance is read again as a matter of course.
    this.#guard = new PositionGuard(settings.read, (partition, from, to, records, why) =>
      (why === 'skipped' ? settings.warn : settings.info)({ event: why === 'skipped' ? 'consumer:gap:filled' : 'consumer:behind:read', group: options.groupId, partition, from: String(from), to: String(to), records }),
    )
    this.client = new StableOffsetsConsumer({
      clientId: settings.clientId,
      bootstrapBrokers: settings.bootstrapBrokers,
      tls: settings.tls,
      sasl: settings.sasl,
      timeout: settings.timeout,
      retries: settings.retries,
      retryDelay: settings.retryDelay,
      groupId: options.groupId,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.sessionTimeoutMs,
      maxWaitTime: 500,
      // Fetches of at most 4 MiB, 1 MiB per partition (the Java consumer's max.partition.fetch.bytes;
      // a larger first batch still comes whole). The client's default of 50 MiB per fetch parsed a
      // whole backlog at once: draining 50,000 pre-filled orders (`bun bench stream`), the
      // order,inventory process peaked at 2,099 MB with it and 1,692 MB with these, at the same rate.
      maxBytes: 4 * 1024 * 1024,
      maxBytesPerPartition: 1024 * 1024,
      protocols: [{ name: 'range', version: 1 }],
      partitionAssigner: rangePartitionAssigner as never,
    })
    // A failed rejoin after a heartbeat error is emitted on the client itself, not on the stream;
    // unheard, it would be an uncaught error that ends the process (seen as a closing connection
    // during shutdown). It fails the listener like any consumer error (a no-op once closed).
    this.client.on('error', (error: Error) => this.#fail(error))
    // A pending transaction of a crashed owner settles within its transaction timeout (the request
    // timeout) or at once when the partition's next owner fences it: retry for that long.
    this.client.stableAdmin = new Admin({
      clientId: `${settings.clientId}-offsets`,
      bootstrapBrokers: settings.bootstrapBrokers,
      tls: settings.tls,
      sasl: settings.sasl,
      timeout: settings.timeout,
      retries: Math.ceil((2 * settings.timeout) / 500),
      retryDelay: 500,
    })
  }

  get groupId(): string {
    return this.options.groupId
  }

  #enqueue(step: () => Promise<void> | void): void {
    this.#chain = this.#chain.then(step).catch((error) => this.#fail(error))
  }

  #fail(error: unknown): void {
    if (this.#closed || this.#failed) return
    this.#failed = true
    this.#listener?.onError?.(error instanceof Error ? error : new LogError(String(error)))
  }

  async start(listener: ConsumerListener): Promise<void> {
    this.#listener = listener
    const joined = Promise.withResolvers<void>()
    this.client.on('consumer:group:join', (event: { generationId?: number; assignments?: Array<{ topic: string; partitions: number[] }> }) => {
      const generation = event.generationId ?? this.client.generationId ?? 0
      const assigned = (event.assignments ?? []).flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
      this.#enqueue(async () => {
        // Eager protocol: a new generation revokes everything; records of older generations are dropped.
        const revoked = this.#assignment
        this.#assignment = []
        if (revoked.length > 0) await listener.onRevoked(revoked)
        this.#guard.reset(assigned, assigned.length > 0 ? await this.committed(assigned) : new Map())
        this.#generation = generation
        await listener.onAssigned(assigned, generation)
        this.#assignment = assigned
        await this.#deliverBehind(generation)
        // Records of this generation that arrived before its join event waited for it.
        if (this.#pending.length > 0) this.#queueDelivery()
      })
      joined.resolve()
    })
    const stream = await call(
      `join group ${this.groupId}`,
      this.settings.timeout + this.settings.sessionTimeoutMs,
      this.client.consume({
        topics: this.options.topics,
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
        // Each fetched batch is decoded straight into the records this consumer delivers (records.ts).
        decodeBatch: (batch, topic, partition, from, metadata) => {
          const origin = metadata.consumer
          const records = consumedRecords(batch, topic, partition, from, origin.generationId)
          for (const record of records) consumedOrigins.set(record, origin)
          return records
        },
      }),
    )
    this.#stream = stream
    stream.on('error', (error) => this.#fail(error))
    // decodeBatch above makes every message a ConsumedRecord.
    stream.on('data', (record: unknown) => this.#receive(record as ConsumedRecord))
    await withDeadline(joined.promise, this.settings.timeout + this.settings.sessionTimeoutMs, `join group ${this.groupId}`)
  }

  #receive(record: ConsumedRecord): void {
    this.#guard.received(record)
    if (++this.#buffered >= this.settings.maxBufferedRecords) this.#stream?.pause()
    this.#pending.push(record)
    this.#queueDelivery()
  }

  #queueDelivery(): void {
    if (this.#deliveryQueued) return
    this.#deliveryQueued = true
    this.#enqueue(() => this.#deliverPending())
  }

  /**
   * Hands everything received since the last delivery to the listener, one batch per partition
   * in offset order. Records of an older generation are dropped (fetched again from the committed
   * offset after the rejoin); records of a newer one wait in `#pending` until its join step,
   * which queues their delivery.
   */
  async #deliverPending(): Promise<void> {
    this.#deliveryQueued = false
    const generation = this.#generation
    const due = this.#pending.filter((r) => r.generation <= generation)
    this.#pending = this.#pending.filter((r) => r.generation > generation)
    this.#buffered -= due.length
    if (this.#buffered < this.settings.maxBufferedRecords / 2 && this.#stream?.isPaused()) this.#stream.resume()
    const batches = new Map<string, ConsumedRecord[]>()
    let stale = false
    for (const record of due) {
      if (record.generation !== generation) {
        stale = true
        continue
      }
      const key = tpKey(record.topic, record.partition)
      const batch = batches.get(key)
      if (batch) batch.push(record)
      else batches.set(key, [record])
    }
    // Records of an older generation move the client's position past them without being processed.
    if (stale) await this.#deliverBehind(generation)
    for (const batch of batches.values()) {
      if (this.#generation !== generation || this.#closed || this.#failed) return
      const admitted = await this.#guard.admit(batch)
      if (admitted.length > 0) await this.#listener!.onRecords(this.#owned(admitted))
    }
  }

  /** Delivers the committed records the client received past a partition's position and will not fetch again (see PositionGuard). */
  async #deliverBehind(generation: number): Promise<void> {
    for (const batch of await this.#guard.behind(generation)) {
      if (this.#generation !== generation || this.#closed || this.#failed) return
      await this.#listener!.onRecords(this.#owned(batch))
    }
  }

  /**
   * Records the guard read itself were not delivered by the client: they get the current
   * generation's origin, which their transaction's TxnOffsetCommit carries (txn-offsets.ts).
   */
  #owned(records: ConsumedRecord[]): ConsumedRecord[] {
    const origin: ConsumedOrigin = { groupId: this.groupId, generationId: this.#generation, memberId: this.client.memberId! }
    for (const record of records) if (!consumedOrigins.has(record)) consumedOrigins.set(record, origin)
    return records
  }

  assignment(): TopicPartition[] {
    return [...this.#assignment]
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    const byTopic = new Map<string, number[]>()
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition])
    const offsets = await call(
      `committed offsets of ${this.groupId}`,
      3 * this.settings.timeout,
      this.client.listCommittedOffsets({
        topics: [...byTopic].map(([topic, parts]) => ({ topic, partitions: parts })),
      }) as Promise<Map<string, bigint[]>>,
    )
    const result = new Map<string, bigint>()
    for (const [topic, perPartition] of offsets) {
      perPartition.forEach((offset, partition) => {
        if (offset >= 0n && byTopic.get(topic)?.includes(partition)) result.set(tpKey(topic, partition), offset)
      })
    }
    return result
  }

  async commit(records: ConsumedRecord[]): Promise<void> {
    const last = lastPerPartition(records)
    const stale = last.find((r) => r.generation !== this.#generation)
    if (stale) throw new FencedError(`group ${this.groupId} moved to generation ${this.#generation}; offsets of generation ${stale.generation} refused`)
    await call(
      `commit offsets of ${this.groupId}`,
      3 * this.settings.timeout,
      this.client.commit({ offsets: last.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset + 1n, leaderEpoch: -1 })) }),
    )
  }

  close(): Promise<void> {
    return this.onClose()
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const revoked = this.#assignment
    this.#assignment = []
    await withDeadline(this.#chain, this.settings.timeout, `finish deliveries of ${this.groupId}`).catch(() => {})
    if (revoked.length > 0) await this.#listener?.onRevoked(revoked)
    await withDeadline(this.client.close(true), this.settings.timeout, `leave group ${this.groupId}`)
    await this.client.stableAdmin.close()
  }
}
