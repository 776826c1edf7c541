import { type Producer, kGetApi, kGetConnection, kMetadata, kPerformWithRetry } from '@platformatic/kafka'
import { LogError } from '../../errors.ts'
import { type ConsumedRecord, lastPerPartition } from '../types.ts'
import type { Bytes } from './records.ts'
import { type ConsumedOrigin, consumedOrigins } from './consumer.ts'

type Callback<T = unknown> = (error: Error | null, value?: T) => void
interface Metadata {
  brokers: Map<number, unknown>
  topics: Map<string, { partitions: Array<{ leaderEpoch: number }> }>
}
/** The client internals this uses, all exported by platformatic: what its own addOffset calls. */
interface Internals {
  [kPerformWithRetry](operation: string, run: (retry: Callback) => void, done: Callback): void
  [kMetadata](options: { topics: string[] }, callback: Callback<Metadata>): void
  [kGetConnection](broker: unknown, callback: Callback<unknown>): void
  [kGetApi](name: string, callback: Callback<(...args: unknown[]) => void>): void
}

/**
 * Adds the consumed offsets to the producer's open transaction in one TxnOffsetCommit per group
 * generation, for every partition at once: for each partition, the offset after the last of
 * `records`. platformatic 2.12.1's Transaction.addOffset sends one request (after a metadata
 * lookup) per partition, one after the other: a member's transaction covers many partitions, and
 * the offsets were the largest part of its time at low load (`bun bench latency`, hop timings).
 * The consumer's group must already be in the transaction (Transaction.addConsumer). The request
 * carries the generation and member id the records were delivered under, so a zombie is refused,
 * and goes to the group's coordinator as `coordinator` finds it when sent: the one a record carries
 * is the client's at delivery, null for records fetched right after a broker came back, and their
 * retries waited on it until the member gave its partitions up (`broker-faults.test.ts`, the
 * broker paused for 60 s: no notification for a minute after it came back).
 */
export async function commitTransactionOffsets(
  producer: Producer<Bytes, Bytes, string, string>,
  transactionalId: string,
  records: ConsumedRecord[],
  coordinator: () => Promise<number>,
): Promise<void> {
  // The last record of each partition carries its next offset, and the generation it was delivered under.
  const byOrigin = new Map<string, { origin: ConsumedOrigin; last: ConsumedRecord[] }>()
  for (const record of lastPerPartition(records)) {
    const origin = consumedOrigins.get(record)
    if (!origin) throw new LogError('sendOffsets takes records delivered by a Kafka consumer')
    const key = `${origin.groupId}\n${origin.generationId}\n${origin.memberId}`
    const entry = byOrigin.get(key)
    if (entry) entry.last.push(record)
    else byOrigin.set(key, { origin, last: [record] })
  }
  for (const { origin, last } of byOrigin.values()) await commitOne(producer, transactionalId, origin, last, coordinator)
}

function commitOne(
  producer: Producer<Bytes, Bytes, string, string>,
  transactionalId: string,
  origin: ConsumedOrigin,
  last: ConsumedRecord[],
  coordinator: () => Promise<number>,
): Promise<void> {
  const client = producer as unknown as Internals
  const names = [...new Set(last.map((r) => r.topic))]
  return new Promise<void>((resolve, reject) => {
    client[kPerformWithRetry](
      'commit',
      (retry) => {
        const send = (metadata: Metadata, broker: unknown) =>
          client[kGetConnection](broker, (error, connection) => {
            if (error) return retry(error)
            client[kGetApi]('TxnOffsetCommit', (error, api) => {
              if (error) return retry(error)
              const topics = names.map((name) => ({
                name,
                partitions: last
                  .filter((r) => r.topic === name)
                  .map((r) => ({
                    partitionIndex: r.partition,
                    committedOffset: r.offset + 1n,
                    committedLeaderEpoch: metadata.topics.get(name)?.partitions[r.partition]?.leaderEpoch ?? -1,
                    committedMetadata: null,
                  })),
              }))
              api!(connection, transactionalId, origin.groupId, producer.producerId, producer.producerEpoch, origin.generationId, origin.memberId, null, topics, (error: Error | null) => retry(error))
            })
          })
        client[kMetadata]({ topics: names }, (error, metadata) => {
          if (error) return retry(error)
          coordinator().then((id) => {
            const broker = metadata!.brokers.get(id)
            if (broker === undefined) return retry(new LogError(`the coordinator of group ${origin.groupId}, broker ${id}, is not in the metadata yet`))
            send(metadata!, broker)
          }, retry)
        })
      },
      (error) => (error ? reject(error) : resolve()),
    )
  })
}
