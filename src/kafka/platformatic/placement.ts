import { LogError } from '../../errors.ts'
import { RoundRobin, choosePartition } from '../partitioner.ts'
import { type ProduceRecord, type RecordPosition, tpKey } from '../types.ts'
import type { Bytes } from './serde.ts'

/** A record with its partition chosen, as the client sends it. */
export interface PlacedMessage {
  topic: string
  key: string | undefined
  value: Bytes | undefined
  headers: Record<string, string> | undefined
  partition: number
}

/** A record's payload bytes (value, key, headers), the measure of request sizes. */
export function messageBytes(m: PlacedMessage): number {
  let bytes = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 16
  for (const key in m.headers) bytes += key.length + (m.headers[key]?.length ?? 0)
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
      return {
        topic: record.topic,
        key: record.key,
        // The client writes an absent value as Kafka's null (length -1): a tombstone. Bytes go as
        // they are (the client only reads them): copying every value was 1.8% of a draining
        // order,inventory process's CPU (`bun bench stream --profile`).
        value: record.value === null ? undefined : Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value),
        headers: record.headers,
        partition: choosePartition(record, count, this.#spread),
      }
    })
  }
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
