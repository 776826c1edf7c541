import { LogError } from '../../errors.ts'
import { RoundRobin, choosePartition } from '../partitioner.ts'
import { type Headers, type ProduceRecord, type RecordPosition, tpKey } from '../types.ts'
import type { Bytes } from './serde.ts'

/**
 * A record with its partition chosen, as the client sends it: the key as its UTF-8 bytes, made
 * once for the partitioner and the request (the client's string serializer made them a second
 * time), and the headers as the Map the client iterates (given an object, it made the Map itself
 * from `Object.entries`, an array per header). Both cost ~6% of a draining order,inventory
 * process's CPU (`bun bench stream --profile`: the serializer's Buffer 2.6%, the Map and its
 * entries 3.9%).
 */
export interface PlacedMessage {
  topic: string
  key: Bytes | undefined
  value: Bytes | undefined
  headers: Map<string, string> | undefined
  partition: number
}

/** A record's payload bytes (value, key, headers), the measure of request sizes. */
export function messageBytes(m: PlacedMessage): number {
  let bytes = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 16
  if (m.headers) for (const [key, value] of m.headers) bytes += key.length + value.length
  return bytes
}

/**
 * Chooses each record's partition before it is sent (shop's partitioner, the same on both
 * adapters), from partition counts learned from metadata once per topic (counts never shrink).
 */
export class Placement {
  readonly #counts = new Map<string, number>()
  readonly #spread = new RoundRobin()
  constructor(private readonly lookup: (topics: string[]) => Promise<Map<string, number>>) {}

  async place(records: ProduceRecord[]): Promise<PlacedMessage[]> {
    const unknown = [...new Set(records.map((r) => r.topic))].filter((t) => !this.#counts.has(t))
    if (unknown.length > 0) {
      for (const [topic, count] of await this.lookup(unknown)) this.#counts.set(topic, count)
    }
    return records.map((record) => {
      const count = this.#counts.get(record.topic)
      if (!count) throw new LogError(`unknown topic ${record.topic}`)
      const key = record.key === undefined ? undefined : Buffer.from(record.key)
      return {
        topic: record.topic,
        key,
        // The client writes an absent value as Kafka's null (length -1): a tombstone. Bytes go as
        // they are (the client only reads them): copying every value was 1.8% of a draining
        // order,inventory process's CPU (`bun bench stream --profile`).
        value: record.value === null ? undefined : Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value),
        headers: record.headers && headerMap(record.headers),
        partition: choosePartition({ topic: record.topic, key, partition: record.partition }, count, this.#spread),
      }
    })
  }
}

function headerMap(headers: Headers): Map<string, string> {
  const map = new Map<string, string>()
  for (const name in headers) map.set(name, headers[name])
  return map
}

/** Each message's position: the broker acks a base offset per partition; records of one partition follow in send order. */
export function positionsOf(messages: PlacedMessage[], offsets: Array<{ topic: string; partition: number; offset: bigint }>): RecordPosition[] {
  const next = new Map(offsets.map((o) => [tpKey(o.topic, o.partition), o.offset]))
  return messages.map((m) => {
    const key = tpKey(m.topic, m.partition)
    const offset = next.get(key)
    if (offset === undefined) throw new LogError(`the broker acknowledged no offset for ${key}`)
    next.set(key, offset + 1n)
    return { topic: m.topic, partition: m.partition, offset }
  })
}
