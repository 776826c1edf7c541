import { Consumer, FetchIsolationLevels, type RecordsBatch } from '@platformatic/kafka'
import { LogError } from '../../errors.ts'
import type { ConsumedRecord, ReadResult, RecordPosition } from '../types.ts'
import { call } from './call.ts'
import type { ClientBase } from './options.ts'
import { consumedRecords } from './records.ts'

const IS_CONTROL = 1 << 5

interface RawPartition {
  partitionIndex: number
  errorCode: number
  records?: RecordsBatch[] | null
}

type Metadata = Awaited<ReturnType<Consumer['metadata']>>

/**
 * Reads partitions with Fetch requests, outside any consumer group (`Log.read`). Fetches are
 * serialized: platformatic keeps one fetch session per broker, and concurrent requests would race
 * on its epoch. Topic metadata (ids, leaders) is fetched once per set of topics and again only
 * after a failed read (a leader may have moved).
 */
export class PartitionReader {
  readonly #consumer: Consumer
  readonly #ms: number
  readonly #metadata = new Map<string, Metadata>()
  #queue: Promise<unknown> = Promise.resolve()

  constructor(base: ClientBase) {
    // A group id is required by the constructor; this client never joins it.
    this.#consumer = new Consumer({ ...base, groupId: `${base.clientId}-unjoined` })
    this.#ms = base.timeout
  }

  /** See Log.read; `maxWaitMs` > 0 makes it a long poll: the broker answers once data arrives or the wait ends. */
  read(from: RecordPosition[], maxWaitMs = 0): Promise<ReadResult[]> {
    const run = this.#queue.then(() =>
      this.#read(from, maxWaitMs).catch((error) => {
        this.#metadata.clear()
        throw error
      }),
    )
    this.#queue = run.catch(() => {})
    return run
  }

  async #topicMetadata(topics: string[]): Promise<Metadata> {
    const key = topics.toSorted().join('\n')
    let metadata = this.#metadata.get(key)
    if (!metadata) this.#metadata.set(key, (metadata = await call('reader metadata', this.#ms, this.#consumer.metadata({ topics }))))
    return metadata
  }

  async #read(from: RecordPosition[], maxWaitMs: number): Promise<ReadResult[]> {
    const topics = [...new Set(from.map((p) => p.topic))]
    const metadata = await this.#topicMetadata(topics)
    const byNode = new Map<number, RecordPosition[]>()
    for (const position of from) {
      const leader = metadata.topics.get(position.topic)?.partitions[position.partition]?.leader
      if (leader === undefined) throw new LogError(`unknown partition ${position.topic}:${position.partition}`)
      byNode.set(leader, [...(byNode.get(leader) ?? []), position])
    }
    const results = new Map<string, ReadResult>()
    for (const [node, positions] of byNode) {
      const request = [...new Set(positions.map((p) => p.topic))].map((topic) => ({
        topicId: metadata.topics.get(topic)!.id,
        partitions: positions
          .filter((p) => p.topic === topic)
          .map((p) => ({
            partition: p.partition,
            fetchOffset: p.offset,
            partitionMaxBytes: 1 << 20,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
          })),
      }))
      const response = await call(
        'read partitions',
        this.#ms + maxWaitMs,
        this.#consumer.fetch({ node, topics: request, isolationLevel: FetchIsolationLevels.READ_COMMITTED, maxWaitTime: Math.max(10, maxWaitMs), minBytes: 1 }),
      )
      const names = new Map([...metadata.topics].map(([name, t]) => [t.id, name]))
      for (const topicResponse of response.responses) {
        const topic = names.get(topicResponse.topicId)!
        for (const raw of topicResponse.partitions as unknown as RawPartition[]) {
          if (raw.errorCode !== 0) throw new LogError(`reading ${topic}:${raw.partitionIndex} failed with Kafka error ${raw.errorCode}`)
          const start = positions.find((p) => p.topic === topic && p.partition === raw.partitionIndex)!.offset
          results.set(`${topic}:${raw.partitionIndex}`, committedRecords(topic, raw, start))
        }
      }
    }
    return from.map(
      (p) => results.get(`${p.topic}:${p.partition}`) ?? { topic: p.topic, partition: p.partition, records: [], next: p.offset },
    )
  }

  close(): Promise<void> {
    return this.#consumer.close(true)
  }
}

/**
 * The data records of one fetched partition. The client has already dropped the batches of aborted
 * transactions (with shop's patch to its filter: scripts/patches/platformatic-kafka.ts); control
 * batches remain, and `next` moves past them.
 */
function committedRecords(topic: string, raw: RawPartition, start: bigint): ReadResult {
  const records: ConsumedRecord[] = []
  let next = start
  for (const batch of raw.records ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    if (last + 1n > next) next = last + 1n
    if (batch.attributes & IS_CONTROL) continue
    for (const record of consumedRecords(batch, topic, raw.partitionIndex, start, -1)) records.push(record)
  }
  return { topic, partition: raw.partitionIndex, records, next }
}
