import { describe, expect, test } from 'bun:test'
import { Reader, Writer, createRecord, createRecordsBatch, jsCRC32C, readRecordsBatch } from '@platformatic/kafka'

/**
 * patches/@platformatic+kafka: a batch's records are written into one buffer (`encodeRecords`)
 * instead of one small buffer per field, after the batch's fixed fields, written into the same
 * buffer. A batch must be byte for byte what the client's own writers (`createRecord` and the
 * field-by-field header, unpatched) make, and read back as it was written.
 */
type Message = Parameters<typeof createRecordsBatch>[0][number]

const bytes = (text: string) => Buffer.from(text, 'utf8')
/** The fixed part of a v2 record batch before its records: firstOffset .. record count. */
const batchHeaderBytes = 61

function messages(): Message[] {
  const now = 1_763_800_000_000n
  const headers = (n: number) => new Map(Array.from({ length: n }, (_, i) => [bytes(`h${i}`), bytes(`value ${i} ${'é'.repeat(i)}`)]))
  return [
    { topic: 't', partition: 0, key: bytes('user-1'), value: bytes('{"orderId":"a"}'), headers: headers(7), timestamp: now },
    { topic: 't', partition: 0, key: undefined, value: bytes('no key'), headers: new Map(), timestamp: now },
    { topic: 't', partition: 0, key: bytes('tombstone'), value: null as unknown as Buffer, headers: headers(1), timestamp: now + 5n },
    { topic: 't', partition: 0, key: bytes(''), value: Buffer.alloc(0), headers: new Map([[bytes('empty'), Buffer.alloc(0)]]), timestamp: now + 300_000n },
    // Large enough for multi-byte varints in every length.
    { topic: 't', partition: 0, key: bytes('k'.repeat(200)), value: Buffer.alloc(70_000, 7), headers: headers(130), timestamp: now - 3n },
  ] as Message[]
}

describe('records batch (patched encoder)', () => {
  test("is byte for byte the client's per-record encoding, and reads back as written", () => {
    const batch = createRecordsBatch(messages(), { transactionalId: 'tx', producerId: 42n, producerEpoch: 3 }).buffer
    const reference = messages()
    const first = reference[0].timestamp as bigint
    const records = Buffer.concat(reference.map((message, i) => createRecord(message, i, first).buffer))
    expect(batch.length).toBe(batchHeaderBytes + records.length)
    expect(batch.subarray(batchHeaderBytes).equals(records)).toBe(true)

    // The fixed fields as the unpatched client wrote them: appended from Attributes on, CRC over
    // those, then magic, leader epoch, length and first offset prepended.
    const options = { producerId: 42n, producerEpoch: 3 }
    const head = Writer.create()
      .appendInt16(1 << 4) // transactional
      .appendInt32(reference.length - 1)
      .appendInt64(first)
      .appendInt64(first + 300_000n)
      .appendInt64(options.producerId)
      .appendInt16(options.producerEpoch)
      .appendInt32(0)
      .appendInt32(reference.length)
      .append(records)
    const unpatched = head
      .appendUnsignedInt32(jsCRC32C(head.dynamicBuffer), false)
      .appendInt8(2, false)
      .appendInt32(0, false)
      .prependLength()
      .appendInt64(0n, false).buffer
    expect(batch.equals(unpatched)).toBe(true)

    const read = readRecordsBatch(Reader.from(batch))
    expect(read.producerId).toBe(42n)
    expect(read.crc).toBe(jsCRC32C(batch.subarray(21)))
    expect(read.records.length).toBe(5)
    const written = messages()
    read.records.forEach((record, i) => {
      const message = written[i]
      expect(record.offsetDelta).toBe(i)
      expect(read.firstTimestamp + record.timestampDelta).toBe(message.timestamp as bigint)
      expect(record.key?.length ? record.key : undefined).toEqual(message.key?.length ? message.key : undefined)
      if (message.value === null) expect(record.value).toBeNull()
      else expect(Buffer.from(record.value ?? []).equals(message.value as Buffer)).toBe(true)
      expect(record.headers.map(([k, v]) => [k?.toString(), v?.toString()])).toEqual([...(message.headers as Map<Buffer, Buffer>)].map(([k, v]) => [k.toString(), v.toString()]))
    })
  })
})
