import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  type GroupPartitionsAssignments,
  type Message,
  type MessageConsumerMetadata,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializer,
  stringSerializer,
} from '@platformatic/kafka'
import { randomUUID } from 'node:crypto'
import { FencedError, LogError, TopicMismatchError } from '../errors.ts'
import { withDeadline } from '../time.ts'
import { Coalescer, chunked } from './coalescer.ts'
import { call } from './platformatic-call.ts'
import { PartitionReader } from './platformatic-reader.ts'
import { PositionGuard } from './position-guard.ts'
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
  type ProduceRecord,
  type ReadResult,
  type RecordPosition,
  type TopicPartition,
  type TopicSpec,
  lastPerPartition,
  tpKey,
} from './types.ts'

/**
 * The Kafka adapter, on @platformatic/kafka (pure TypeScript; runs inside Bun, unlike librdkafka
 * bindings). Every call that waits on the broker has a deadline. See port.ts for the contracts.
 */
export interface KafkaLogOptions {
  brokers: string[]
  clientId?: string
  /** Deadline for any single call that waits on the broker, in ms. */
  requestTimeoutMs?: number
  /** Consumer group session timeout: how soon a crashed member's partitions move, in ms. */
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** Records buffered per consumer before fetching pauses. */
  maxBufferedRecords?: number
  /** Where the adapter reports client misbehaviour it worked around. */
  warn?: (entry: Record<string, unknown>) => void
  /**
   * Bytes of records per Produce request at most (concurrent sends are coalesced up to it; larger
   * sends are split). Below the broker's default message.max.bytes of 1 MiB, with headroom.
   */
  maxRequestBytes?: number
}

type Bytes = Buffer
const serializers = { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer }
const deserializers = { key: stringDeserializer, headerKey: stringDeserializer, headerValue: stringDeserializer }

type PlacedMessage = Awaited<ReturnType<PartitionCounts['place']>>[number]

/** A record's payload bytes (value, key, headers), the measure of request sizes. */
function messageBytes(m: PlacedMessage): number {
  let bytes = m.value.length + (m.key?.length ?? 0) + 16
  for (const key in m.headers) bytes += key.length + (m.headers[key]?.length ?? 0)
  return bytes
}

/** Partition counts by topic, learned from metadata once per topic (counts never shrink). */
class PartitionCounts {
  readonly #counts = new Map<string, number>()
  constructor(private readonly lookup: (topics: string[]) => Promise<Map<string, number>>) {}

  async place(records: ProduceRecord[]) {
    const unknown = [...new Set(records.map((r) => r.topic))].filter((t) => !this.#counts.has(t))
    if (unknown.length > 0) {
      for (const [topic, count] of await this.lookup(unknown)) this.#counts.set(topic, count)
    }
    return records.map((record) => {
      const count = this.#counts.get(record.topic)
      if (!count) throw new LogError(`unknown topic ${record.topic}`)
      const partition = choosePartition(record, count)
      return {
        topic: record.topic,
        key: record.key,
        value: Buffer.from(record.value),
        headers: record.headers,
        partition,
      }
    })
  }
}

export class KafkaLog implements Log {
  readonly kind = 'kafka' as const
  readonly admin: KafkaAdmin
  readonly #options: Required<KafkaLogOptions>
  readonly #closers = new Set<() => Promise<void>>()
  readonly #counts: PartitionCounts
  #reader: PartitionReader | undefined

  constructor(options: KafkaLogOptions) {
    this.#options = {
      clientId: 'shop',
      requestTimeoutMs: 15_000,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxBufferedRecords: 5_000,
      warn: () => {},
      maxRequestBytes: 512 * 1024,
      ...options,
    }
    this.admin = new KafkaAdmin(this.#base('admin'), this.#options.requestTimeoutMs)
    this.#track(() => this.admin.close())
    this.#counts = new PartitionCounts(async (topics) => {
      const described = await this.admin.describeTopics(topics)
      return new Map(described.map((d) => [d.name, d.partitions]))
    })
  }

  #base(role: string) {
    return {
      clientId: `${this.#options.clientId}-${role}`,
      bootstrapBrokers: this.#options.brokers,
      timeout: this.#options.requestTimeoutMs,
      retries: 3,
      retryDelay: 250,
    }
  }

  #track(close: () => Promise<void>): () => Promise<void> {
    const once = async () => {
      if (!this.#closers.delete(once)) return
      await close()
    }
    this.#closers.add(once)
    return once
  }

  producer(): LogProducer {
    const producer = new Producer<string, Bytes, string, string>({
      ...this.#base('producer'),
      idempotent: true,
      acks: ProduceAcks.ALL,
      serializers,
    })
    const ms = this.#options.requestTimeoutMs
    const counts = this.#counts
    // platformatic sends one Produce request per send(); the API calls send() once per order.
    // Coalescing concurrent calls took one-record sends from 0.46x to 0.9x-1.2x the records/s of
    // Kafka's ProducerPerformance on the same broker (bun bench throughput).
    const requests = new Coalescer<PlacedMessage, RecordPosition>(async (messages) => {
      const result = await call('produce', ms, producer.send({ messages }))
      return positionsOf(messages, result.offsets ?? [])
    }, messageBytes, this.#options.maxRequestBytes)
    return {
      async send(records) {
        return requests.submit(await counts.place(records))
      },
      close: this.#track(() => producer.close(true)),
    }
  }

  transactionalProducer({ transactionalId }: { transactionalId: string }): TransactionalProducer {
    const producer = new Producer<string, Bytes, string, string>({
      ...this.#base(`tx-${transactionalId}`),
      idempotent: true,
      transactionalId,
      acks: ProduceAcks.ALL,
      serializers,
      // InitProducerId must say "no producer id known" (-1/-1). Left unset, platformatic 2.12.1 sends
      // 0/0, and the broker answers PRODUCER_FENCED to every new instance of an existing id.
      producerId: -1n,
      producerEpoch: -1,
    })
    const ms = this.#options.requestTimeoutMs
    const counts = this.#counts
    const maxRequestBytes = this.#options.maxRequestBytes
    let initialized = false
    return {
      transactionalId,
      async init() {
        if (initialized) return
        // beginTransaction finds the coordinator and runs InitProducerId (fencing older epochs,
        // settling their open transaction); cancel drops the local transaction without a request.
        const tx = await call('init transactional producer', ms, producer.beginTransaction())
        await call('cancel local transaction', ms, tx.cancel())
        initialized = true
      },
      async begin(): Promise<Transaction> {
        const tx = await call('begin transaction', ms, producer.beginTransaction())
        initialized = true
        return {
          async send(records) {
            // A batch of large records could exceed the broker's message.max.bytes in one request.
            for (const messages of chunked(await counts.place(records), messageBytes, maxRequestBytes)) {
              await call('transactional produce', ms, tx.send({ messages }))
            }
          },
          async sendOffsets(consumer, records) {
            const kafkaConsumer = (consumer as KafkaConsumer).client
            await call('add consumer group to transaction', ms, tx.addConsumer(kafkaConsumer))
            // One TxnOffsetCommit per partition: the last record of each carries the next offset.
            for (const record of lastPerPartition(records)) {
              const metadata = consumedOrigins.get(record)
              if (!metadata) throw new LogError('sendOffsets takes records delivered by a Kafka consumer')
              await call(
                'add offsets to transaction',
                ms,
                tx.addOffset({ ...record, metadata: { consumer: metadata } } as unknown as Message<string, Bytes, string, string>),
              )
            }
          },
          async commit() {
            try {
              await call('commit transaction', ms, tx.commit())
            } catch (error) {
              if (!tx.completed) await call('abort transaction', ms, tx.abort()).catch(() => call('cancel local transaction', ms, tx.cancel()).catch(() => {}))
              throw error
            }
          },
          async abort() {
            if (tx.completed) return
            await call('abort transaction', ms, tx.abort()).catch(async (error) => {
              await call('cancel local transaction', ms, tx.cancel()).catch(() => {})
              if (!(error instanceof FencedError)) throw error
            })
          },
        }
      },
      close: this.#track(() => call('close transactional producer', ms, producer.close(true))),
    }
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    const consumer = new KafkaConsumer(options, {
      ...this.#base(options.clientId ?? `consumer-${randomUUID().slice(0, 8)}`),
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      maxBufferedRecords: this.#options.maxBufferedRecords,
      read: (from) => this.read(from),
      warn: this.#options.warn,
    })
    const close = this.#track(() => consumer.shutdown())
    consumer.onClose = close
    return consumer
  }

  read(from: RecordPosition[]): Promise<ReadResult[]> {
    if (!this.#reader) {
      const reader = new PartitionReader(this.#base('reader'), this.#options.requestTimeoutMs)
      this.#track(() => reader.close())
      this.#reader = reader
    }
    return this.#reader.read(from)
  }

  async close(): Promise<void> {
    const errors: unknown[] = []
    for (const close of [...this.#closers].reverse()) await close().catch((e) => errors.push(e))
    if (errors.length > 0) throw new LogError('closing Kafka clients failed', { cause: new AggregateError(errors) })
  }
}

/** Group metadata of each record a Kafka consumer delivered, needed to add its offset to a transaction. */
const consumedOrigins = new WeakMap<ConsumedRecord, MessageConsumerMetadata>()

function positionsOf(
  messages: Array<{ topic: string; partition?: number }>,
  offsets: Array<{ topic: string; partition: number; offset: bigint }>,
): RecordPosition[] {
  // The broker acks a base offset per partition; records of one partition follow in send order.
  const next = new Map(offsets.map((o) => [tpKey(o.topic, o.partition), o.offset]))
  return messages.map((m) => {
    const key = tpKey(m.topic, m.partition ?? -1)
    const offset = next.get(key) ?? -1n
    next.set(key, offset + 1n)
    return { topic: m.topic, partition: m.partition ?? -1, offset }
  })
}

class KafkaAdmin implements LogAdmin {
  readonly #admin: Admin
  constructor(
    base: ConstructorParameters<typeof Admin>[0],
    private readonly ms: number,
  ) {
    this.#admin = new Admin(base)
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const existing = await this.describeTopics(specs.map((s) => s.name))
    for (const topic of existing) {
      const wanted = specs.find((s) => s.name === topic.name)!.partitions
      if (topic.partitions !== wanted) {
        throw new TopicMismatchError(`topic ${topic.name} has ${topic.partitions} partitions, expected ${wanted}`)
      }
    }
    const missing = specs.filter((s) => !existing.some((e) => e.name === s.name))
    for (const spec of missing) {
      await call(
        `create topic ${spec.name}`,
        this.ms,
        this.#admin.createTopics({
          topics: [spec.name],
          partitions: spec.partitions,
          replicas: -1,
          configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        }),
      ).catch((error) => {
        // Another process created it first: fine, as long as it matches (checked below).
        if (!/TOPIC_ALREADY_EXISTS|already exists/i.test(JSON.stringify(error?.cause?.errors ?? error?.message))) throw error
      })
    }
    if (missing.length > 0) await this.ensureTopics(specs)
  }

  async describeTopics(names: string[]) {
    const all = new Set(await call('list topics', this.ms, this.#admin.listTopics()))
    const present = names.filter((n) => all.has(n))
    if (present.length === 0) return []
    const metadata = await call('topic metadata', this.ms, this.#admin.metadata({ topics: present }))
    return present.map((name) => ({ name, partitions: metadata.topics.get(name)!.partitionsCount }))
  }

  async endOffsets(topic: string): Promise<bigint[]> {
    const [described] = await this.describeTopics([topic])
    if (!described) throw new LogError(`unknown topic ${topic}`)
    const result = await call(
      `end offsets of ${topic}`,
      this.ms,
      this.#admin.listOffsets({
        topics: [{ name: topic, partitions: Array.from({ length: described.partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      }),
    )
    const offsets = new Array<bigint>(described.partitions).fill(0n)
    for (const p of result[0].partitions) offsets[p.partitionIndex] = p.offset
    return offsets
  }

  async committedOffsets(groupId: string): Promise<RecordPosition[]> {
    const [group] = await call(`committed offsets of ${groupId}`, this.ms, this.#admin.listConsumerGroupOffsets({ groups: [groupId] }))
    return (group?.topics ?? []).flatMap((topic) =>
      topic.partitions.filter((p) => p.committedOffset >= 0n).map((p) => ({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset })),
    )
  }

  async deleteTopics(names: string[]): Promise<void> {
    await call('delete topics', this.ms, this.#admin.deleteTopics({ topics: names }))
  }

  close(): Promise<void> {
    return this.#admin.close()
  }
}

interface KafkaConsumerSettings {
  clientId: string
  bootstrapBrokers: string[]
  timeout: number
  retries: number
  retryDelay: number
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  maxBufferedRecords: number
  read: (from: RecordPosition[]) => Promise<ReadResult[]>
  warn: (entry: Record<string, unknown>) => void
}

/**
 * platformatic's consumer reads committed offsets with require_stable=false, so right after a
 * rebalance a new owner could start below an offset the previous owner is committing in a
 * transaction, and process those records twice. This subclass answers the same call through
 * OffsetFetch with require_stable=true (the broker answers UNSTABLE_OFFSET_COMMIT, retried, until
 * pending transactional commits settle), as Kafka's Java consumer does under read_committed.
 */
class StableOffsetsConsumer extends Consumer<string, Bytes, string, string> {
  stableAdmin!: Admin

  override listCommittedOffsets(
    options: { topics: Array<{ topic: string; partitions: number[] }> },
    callback?: (error: Error | null, offsets?: Map<string, bigint[]>) => void,
  ): any {
    const promise = this.stableAdmin
      .listConsumerGroupOffsets({
        groups: [{ groupId: this.groupId, topics: options.topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) }],
        requireStable: true,
      })
      .then((groups) => {
        const committed = new Map<string, bigint[]>()
        for (const topic of groups[0]?.topics ?? []) {
          const offsets: bigint[] = []
          for (const p of topic.partitions) offsets[p.partitionIndex] = p.committedOffset
          committed.set(topic.name, offsets)
        }
        return committed
      })
    if (!callback) return promise
    promise.then((offsets) => callback(null, offsets), (error) => callback(error))
  }
}

/** The platformatic partitionAssigner hook over shop's range assignment. */
function rangePartitionAssigner(
  _current: string,
  members: Map<string, { topics?: string[] }>,
  topics: Set<string>,
  metadata: { topics: Map<string, { partitionsCount: number }> },
): GroupPartitionsAssignments[] {
  const counts = new Map([...topics].map((t) => [t, metadata.topics.get(t)?.partitionsCount ?? 0]))
  const plan = rangeAssign(
    [...members].map(([id, m]) => ({ id, topics: m.topics ?? [...topics] })),
    counts,
  )
  return [...plan].map(([memberId, tps]) => {
    const assignments = new Map<string, { topic: string; partitions: number[] }>()
    for (const { topic, partition } of tps) {
      if (!assignments.has(topic)) assignments.set(topic, { topic, partitions: [] })
      assignments.get(topic)!.partitions.push(partition)
    }
    return { memberId, assignments }
  })
}

class KafkaConsumer implements GroupConsumer {
  readonly client: StableOffsetsConsumer
  onClose: () => Promise<void> = async () => {}
  #listener: ConsumerListener | undefined
  #stream: Awaited<ReturnType<Consumer<string, Bytes, string, string>['consume']>> | undefined
  #assignment: TopicPartition[] = []
  #generation = -1
  /** Assignment changes and deliveries run one after another, in event order. */
  #chain: Promise<void> = Promise.resolve()
  #buffered = 0
  #pending: ConsumedRecord[] = []
  #closed = false
  readonly #guard: PositionGuard

  constructor(
    private readonly options: ConsumerOptions,
    private readonly settings: KafkaConsumerSettings,
  ) {
    this.#guard = new PositionGuard(settings.read, (partition, from, to, records) =>
      settings.warn({ event: 'consumer:gap:filled', group: options.groupId, partition, from: String(from), to: String(to), records }),
    )
    this.client = new StableOffsetsConsumer({
      clientId: settings.clientId,
      bootstrapBrokers: settings.bootstrapBrokers,
      timeout: settings.timeout,
      retries: settings.retries,
      retryDelay: settings.retryDelay,
      groupId: options.groupId,
      deserializers,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.sessionTimeoutMs,
      maxWaitTime: 500,
      protocols: [{ name: 'range', version: 1 }],
      partitionAssigner: rangePartitionAssigner as never,
    })
    // A pending transaction of a crashed owner settles within its transaction timeout (the request
    // timeout) or at once when the partition's next owner fences it: retry for that long.
    this.client.stableAdmin = new Admin({
      clientId: `${settings.clientId}-offsets`,
      bootstrapBrokers: settings.bootstrapBrokers,
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
    if (this.#closed) return
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
      }),
    )
    this.#stream = stream
    stream.on('error', (error) => this.#fail(error))
    stream.on('data', (message: Message<string, Bytes, string, string>) => this.#receive(message))
    await withDeadline(joined.promise, this.settings.timeout + this.settings.sessionTimeoutMs, `join group ${this.groupId}`)
  }

  #receive(message: Message<string, Bytes, string, string>): void {
    const origin = message.metadata.consumer as MessageConsumerMetadata
    const record: ConsumedRecord = {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key ?? undefined,
      value: message.value,
      headers: Object.fromEntries(message.headers),
      timestamp: Number(message.timestamp),
      generation: origin.generationId,
    }
    consumedOrigins.set(record, origin)
    if (++this.#buffered >= this.settings.maxBufferedRecords) this.#stream?.pause()
    this.#pending.push(record)
    if (this.#pending.length === 1) this.#enqueue(() => this.#deliverPending())
  }

  /**
   * Hands everything received since the last delivery to the listener, one batch per partition
   * in offset order. Records of an older generation are dropped (fetched again from the committed
   * offset after the rejoin); records of a newer one wait for its assignment step.
   */
  async #deliverPending(): Promise<void> {
    const generation = this.#generation
    const due = this.#pending.filter((r) => r.generation <= generation)
    this.#pending = this.#pending.filter((r) => r.generation > generation)
    if (this.#pending.length > 0) {
      // Yield a macrotask so that the join event of the newer generation can enqueue its step first.
      this.#enqueue(() => new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => this.#deliverPending()))
    }
    this.#buffered -= due.length
    if (this.#buffered < this.settings.maxBufferedRecords / 2 && this.#stream?.isPaused()) this.#stream.resume()
    const batches = new Map<string, ConsumedRecord[]>()
    for (const record of due) {
      if (record.generation !== generation) continue
      const key = tpKey(record.topic, record.partition)
      const batch = batches.get(key)
      if (batch) batch.push(record)
      else batches.set(key, [record])
    }
    for (const batch of batches.values()) {
      if (this.#generation !== generation || this.#closed) return
      const admitted = await this.#guard.admit(batch)
      if (admitted.length > 0) await this.#listener!.onRecords(admitted)
    }
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
