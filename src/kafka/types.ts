/** Data that crosses the log port. Keys are strings (user ids, SKUs); values are bytes. */

export type Headers = Record<string, string>

export interface TopicPartition {
  topic: string
  partition: number
}

export interface ProduceRecord {
  topic: string
  /** Records with the same key land on the same partition (Kafka's murmur2 partitioner). */
  key?: string
  /** null is a tombstone: on a compacted topic it deletes the key (an empty value does not). */
  value: Uint8Array | string | null
  headers?: Headers
  /** Explicit partition; overrides the key's partition. */
  partition?: number
}

export interface RecordPosition extends TopicPartition {
  offset: bigint
}

export interface ConsumedRecord extends RecordPosition {
  key: string | undefined
  /** null for a tombstone, distinct from an empty value. */
  value: Buffer | null
  headers: Headers
  /** Milliseconds since the epoch, as stored with the record. */
  timestamp: number
  /** The consumer group generation the record was delivered under; commits from an older one are fenced. */
  generation: number
}

/** One partition's answer to `Log.read`. */
export interface ReadResult extends TopicPartition {
  records: ConsumedRecord[]
  next: bigint
}

export interface TopicSpec {
  name: string
  partitions: number
  /** Broker-side topic configs, e.g. `{ 'cleanup.policy': 'compact' }` for changelogs. */
  config?: Record<string, string>
}

export interface TopicDescription {
  name: string
  partitions: number
}

export const tpKey = (topic: string, partition: number): string => `${topic}:${partition}`

/** The last of `records` per topic-partition (whose offset + 1 is that partition's progress). */
export function lastPerPartition<T extends RecordPosition>(records: T[]): T[] {
  const last = new Map<string, T>()
  for (const r of records) last.set(tpKey(r.topic, r.partition), r)
  return [...last.values()]
}
