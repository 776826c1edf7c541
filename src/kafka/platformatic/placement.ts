import { LogError } from '../../errors.ts'
import { RoundRobin, choosePartition } from '../partitioner.ts'
import { type ProduceRecord, type RecordPosition, tpKey } from '../types.ts'
import { FieldsWriter } from './records.ts'

/**
 * A record with its partition chosen, as the client sends it: its key, value and headers already
 * in the bytes a v2 record carries (`encoded`, see FieldsWriter), all of a send written into one
 * buffer. The client's own path made a Buffer per key and header string, two Maps per record and
 * wrote them field by field: with shop's own Map of the headers, ~25% of a draining
 * order,inventory process's samples were in its produce path (`bun bench stream --profile`).
 */
export interface PlacedMessage {
  topic: string
  partition: number
  encoded: Buffer
  /** The client's message schema requires the property; the value is in `encoded`. */
  value: undefined
}

/** A record's size, the measure of request sizes. */
export function messageBytes(m: PlacedMessage): number {
  return m.encoded.length + 16
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
    let estimate = 0
    for (const record of records) estimate += 320 + (record.value?.length ?? 0)
    const fields = new FieldsWriter(estimate)
    return records.map((record) => {
      const count = this.#counts.get(record.topic)
      if (!count) throw new LogError(`unknown topic ${record.topic}`)
      const start = fields.at
      const keyAt = fields.string(record.key)
      const key = record.key === undefined ? undefined : fields.view(keyAt)
      // An absent value is Kafka's null (length -1): a tombstone.
      if (typeof record.value === 'string') fields.string(record.value)
      else fields.bytes(record.value)
      fields.headers(record.headers)
      return {
        topic: record.topic,
        partition: choosePartition({ topic: record.topic, key, partition: record.partition }, count, this.#spread),
        encoded: fields.view(start),
        value: undefined,
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
