import { LogError } from '../errors.ts'

/**
 * Kafka's default partitioner for keyed records, bit for bit: `toPositive(murmur2(utf8(key))) % n`
 * (org.apache.kafka.common.utils.Utils.murmur2). Both adapters use it, so a key maps to the same
 * partition number on the in-memory log, on shop's Kafka adapter and on any Java client.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995
  const length = data.length
  let h = 0x9747b28c ^ length
  const length4 = length >> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const tail = length & ~3
  switch (length & 3) {
    case 3:
      h ^= data[tail + 2] << 16
    // falls through
    case 2:
      h ^= data[tail + 1] << 8
    // falls through
    case 1:
      h ^= data[tail]
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

const encoder = new TextEncoder()

/** The partition Kafka's default partitioner picks for `key` (a string, or its UTF-8 bytes) among `partitions`. */
export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  return (murmur2(typeof key === 'string' ? encoder.encode(key) : key) & 0x7fffffff) % partitions
}

/** Spreads records without key or partition over a topic's partitions, one after another. */
export class RoundRobin {
  #next = 0
  next(count: number): number {
    return this.#next++ % count
  }
}

/**
 * The partition a record goes to among `count`: its explicit partition, else its key's, else the
 * next of `spread` (so every record's partition, and hence its position, is known before it is
 * sent). Throws LogError when an explicit partition is out of range.
 */
export function choosePartition(record: { topic: string; key?: string | Uint8Array; partition?: number }, count: number, spread: RoundRobin): number {
  const partition = record.partition ?? (record.key !== undefined ? partitionForKey(record.key, count) : spread.next(count))
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw new LogError(`partition ${partition} out of range for ${record.topic} (${count})`)
  }
  return partition
}
