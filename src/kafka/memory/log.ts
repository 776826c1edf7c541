import type { ConsumerOptions, GroupConsumer, Log, LogAdmin, LogProducer, TransactionalProducer } from '../port.ts'
import type { ReadResult, RecordPosition } from '../types.ts'
import { LogError } from '../../errors.ts'
import { MemoryAdmin } from './admin.ts'
import { MemoryCluster } from './cluster.ts'
import { consumedFrom } from './partition-log.ts'
import { MemoryConsumer } from './consumer.ts'
import { MemoryProducer, MemoryTransactionalProducer } from './producer.ts'

/**
 * The in-memory log: the embedded default and the fast test bed. Same contracts as Kafka, in one
 * process: keyed partitioning with Kafka's partitioner, consumer groups with range assignment and
 * generations, committed offsets, and transactions whose records and offsets appear at once on
 * commit (so every reader is read_committed), compacted topics and retention. Nothing survives the
 * process.
 */
export interface MemoryLogOptions {
  /** Share one cluster between several logs to stand for several processes. */
  cluster?: MemoryCluster
  /** For a new cluster: the retention of a topic whose spec sets none (see MemoryCluster); default: every record is kept. */
  retentionMs?: number
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
    this.cluster = options.cluster ?? new MemoryCluster(options.retentionMs)
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

  async read(from: RecordPosition[], options: { maxWaitMs?: number } = {}): Promise<ReadResult[]> {
    const atEnd = () => from.every(({ topic, partition, offset }) => offset >= BigInt(this.cluster.topic(topic)[partition]?.end ?? 0))
    // As a broker's fetch: answered when one of these partitions has a record, not on any append elsewhere.
    if (options.maxWaitMs) {
      const deadline = performance.now() + options.maxWaitMs
      for (let left = options.maxWaitMs; left > 0 && atEnd(); left = deadline - performance.now()) await this.cluster.changed.waitAtMost(left)
    }
    return from.map(({ topic, partition, offset }) => {
      const log = this.cluster.topic(topic)[partition]
      if (!log) throw new LogError(`topic ${topic} has no partition ${partition}`)
      // As the group consumer delivers them, without a generation.
      const { records, next } = consumedFrom(log, topic, partition, Number(offset), this.#maxBatch, -1)
      return { topic, partition, records, next: BigInt(next) }
    })
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.close()))
    this.#consumers.clear()
  }
}
