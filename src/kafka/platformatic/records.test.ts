import { describe, expect, test } from 'bun:test'
import { Reader, Writer, createRecord, createRecordsBatch, jsCRC32C, readRecordsBatch } from '@platformatic/kafka'
import { LogError } from '../../errors.ts'
import { FieldsWriter, consumedRecords } from './records.ts'

/**
 * A record batch's bytes both ways, as the project's patch of @platformatic/kafka and records.ts
 * make and read them. Written: a batch's records go into one buffer (`encodeRecords`) after its
 * fixed fields, in the same buffer, and must be byte for byte what the client's own writers
 * (`createRecord` and the field-by-field header, unpatched) make; FieldsWriter's fields must be
 * what the client's serializing path writes. Read: consumedRecords decodes a fetched batch's bytes
 * itself, and every record must read as the client's own decoder (`readRecord`, behind the batch's
 * `records`) reads it, field by field.
 */
type Message = Parameters<typeof createRecordsBatch>[0][number]

const bytes = (text: string) => Buffer.from(text, 'utf8')
const now = 1_763_800_000_000n

function messages(): Message[] {
  const headers = (n: number) => new Map(Array.from({ length: n }, (_, i) => [bytes(`h${i}`), bytes(`value ${i} ${'é'.repeat(i)}`)]))
  return [
    { topic: 't', partition: 0, key: bytes('user-1'), value: bytes('{"orderId":"a"}'), headers: headers(7), timestamp: now },
    { topic: 't', partition: 0, key: undefined, value: bytes('no key'), headers: new Map(), timestamp: now },
    { topic: 't', partition: 0, key: bytes('tombstone'), value: null as unknown as Buffer, headers: headers(1), timestamp: now + 5n },
    { topic: 't', partition: 0, key: bytes(''), value: Buffer.alloc(0), headers: new Map([[bytes('empty'), Buffer.alloc(0)]]), timestamp: now + 300_000n },
    // Large enough for multi-byte varints in every length, and a timestamp before the batch's first.
    { topic: 't', partition: 0, key: bytes('k'.repeat(200)), value: Buffer.alloc(70_000, 7), headers: headers(130), timestamp: now - 3n },
    { topic: 't', partition: 0, key: bytes('ünïcode 🛒'), value: bytes('{}'), headers: new Map([[bytes('__proto__'), bytes('polluted?')], [bytes('ce_type'), bytes('shop.order.created')]]), timestamp: now + 2n ** 31n - 1n },
  ] as Message[]
}

/** A batch as a fetch response carries it: written by the client, read back by its reader. */
function fetched(compression?: 'gzip' | 'snappy' | 'lz4' | 'zstd') {
  const written = createRecordsBatch(messages(), { compression, transactionalId: 'tx', producerId: 42n, producerEpoch: 3 }).buffer
  const batch = readRecordsBatch(Reader.from(written))
  return { ...batch, firstOffset: 1_000n }
}

/** What the client's own decoder reads from the same batch, as the port carries records. */
function asTheClientReads(batch: ReturnType<typeof fetched>) {
  return batch.records.map((record) => ({
    offset: batch.firstOffset + BigInt(record.offsetDelta),
    timestamp: Number(batch.firstTimestamp + BigInt(record.timestampDelta)),
    key: record.key?.toString(),
    value: record.value === null ? null : Buffer.from(record.value),
    headers: record.headers.map(([k, v]) => [k?.toString(), v?.toString() ?? '']),
  }))
}

describe('records batch (patched encoder)', () => {
  test("is byte for byte the client's per-record encoding, and reads back as written", () => {
    const batch = createRecordsBatch(messages(), { transactionalId: 'tx', producerId: 42n, producerEpoch: 3 }).buffer
    const reference = messages()
    const first = reference[0].timestamp as bigint
    const records = Buffer.concat(reference.map((message, i) => createRecord(message, i, first).buffer))
    expect(batch.length).toBe(61 + records.length)
    expect(batch.subarray(61).equals(records)).toBe(true)

    // The fixed fields as the unpatched client wrote them: appended from Attributes on, CRC over
    // those, then magic, leader epoch, length and first offset prepended.
    const options = { producerId: 42n, producerEpoch: 3 }
    const head = Writer.create()
      .appendInt16(1 << 4) // transactional
      .appendInt32(reference.length - 1)
      .appendInt64(first)
      .appendInt64(first + 2n ** 31n - 1n)
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
    expect(read.records.length).toBe(6)
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

describe('consumedRecords', () => {
  test('a timestamp 2^31 ms or more from the batch\'s first reads back (the unpatched client wrote such a delta wrong)', () => {
    const far = [now + 2n ** 40n, now - 2n ** 35n, now + 2n ** 31n]
    const written = createRecordsBatch(far.map((timestamp) => ({ topic: 't', partition: 0, key: bytes('k'), value: bytes('v'), headers: new Map(), timestamp })) as Message[]).buffer
    const batch = readRecordsBatch(Reader.from(written))
    expect(consumedRecords(batch, 't', 0, 0n, 1).map((r) => r.timestamp)).toEqual(far.map(Number))
    expect(batch.records.map((r) => batch.firstTimestamp + BigInt(r.timestampDelta))).toEqual(far)
  })

  for (const compression of [undefined, 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`reads every field as the client's own decoder does (${compression ?? 'uncompressed'})`, () => {
      const batch = fetched(compression)
      const records = consumedRecords(batch, 'orders', 3, 0n, 7)
      const expected = asTheClientReads(batch)
      expect(records.length).toBe(6)
      records.forEach((record, i) => {
        expect(record.topic).toBe('orders')
        expect(record.partition).toBe(3)
        expect(record.generation).toBe(7)
        expect(record.offset).toBe(expected[i].offset)
        expect(record.timestamp).toBe(expected[i].timestamp)
        expect(record.key).toBe(expected[i].key)
        if (expected[i].value === null) expect(record.value).toBeNull()
        else expect(Buffer.from(record.value!).equals(expected[i].value!)).toBe(true)
        expect(Object.entries(record.headers)).toEqual(expected[i].headers as Array<[string, string]>)
      })
      // The edge cases themselves, not only agreement with the client.
      expect(records.map((r) => r.key)).toEqual(['user-1', undefined, 'tombstone', '', 'k'.repeat(200), 'ünïcode 🛒'])
      expect(records[2].value).toBeNull()
      expect(records[3].value!.length).toBe(0)
      expect(records[4].timestamp).toBe(Number(now) - 3)
      expect(Object.keys(records[4].headers).length).toBe(130)
      expect(records[5].headers.__proto__).toBe('polluted?')
      expect(Object.getPrototypeOf(records[5].headers)).toBe(Object.prototype)
    })
  }

  test('leaves out the records before the fetch position', () => {
    const batch = fetched()
    expect(consumedRecords(batch, 'orders', 0, 1_004n, 1).map((r) => r.offset)).toEqual([1_004n, 1_005n])
  })

  test('a header without a name is left out; one without a value reads as empty', () => {
    const headers = new Map<Buffer | null, Buffer | null>([[null, bytes('nameless')], [bytes('ce_id'), null]])
    const written = createRecordsBatch([{ topic: 't', partition: 0, key: bytes('k'), value: bytes('v'), headers, timestamp: now }] as unknown as Message[]).buffer
    const [record] = consumedRecords(readRecordsBatch(Reader.from(written)), 't', 0, 0n, 1)
    expect(record.headers).toEqual({ ce_id: '' })
  })

  test('header strings read the same the second time, when they repeat (ASCII), and when they are not UTF-8', () => {
    const notUtf8 = Buffer.from([0x68, 0xff])
    const headers = new Map<Buffer, Buffer>([[bytes('ce_type'), bytes('shop.order.created')], [bytes('bytes'), notUtf8], [bytes('long'), bytes('x'.repeat(33))]])
    const written = createRecordsBatch([0, 1, 2].map(() => ({ topic: 't', partition: 0, key: bytes('k'), value: bytes('v'), headers, timestamp: now })) as unknown as Message[]).buffer
    for (const round of [1, 2]) {
      const records = consumedRecords(readRecordsBatch(Reader.from(written)), 't', 0, 0n, round)
      for (const record of records) expect(record.headers).toEqual({ ce_type: 'shop.order.created', bytes: notUtf8.toString(), long: 'x'.repeat(33) })
    }
  })

  test('a batch whose bytes end early is refused, not read past', () => {
    const batch = fetched()
    const truncated = { ...batch, recordsData: batch.recordsData.subarray(0, batch.recordsData.length - 10) }
    expect(() => consumedRecords(truncated, 'orders', 0, 0n, 1)).toThrow(LogError)
    expect(() => consumedRecords({ ...batch, recordsCount: batch.recordsCount + 1 }, 'orders', 0, 0n, 1)).toThrow(/ends inside a varint/)
  })
})

describe('FieldsWriter', () => {
  const cases: Array<{ key?: string; value: string | Uint8Array | null; headers?: Record<string, string> }> = [
    { key: 'user-1', value: '{"orderId":"a"}', headers: { ce_type: 'shop.order.created', ce_id: crypto.randomUUID(), 'content-type': 'application/json' } },
    { key: undefined, value: bytes('no key'), headers: undefined },
    { key: 'tombstone', value: null, headers: {} },
    { key: '', value: new Uint8Array(0), headers: { empty: '' } },
    // UTF-8 lengths at the edges of one varint byte (63 and 66 bytes), and long ones.
    { key: '€'.repeat(21), value: 'x'.repeat(200), headers: { ['€'.repeat(22)]: 'é'.repeat(70), traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } },
    { key: 'k'.repeat(300), value: Buffer.alloc(70_000, 7), headers: Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`h${i}`, `value ${i} ${'é'.repeat(i)}`])) },
    { key: 'ünïcode 🛒', value: '{"note":"🛒 ünïcode"}', headers: { ce_source: 'shop/ünïcode' } },
  ]

  test("writes what the client's own serializing path writes, byte for byte, growing past its estimate", () => {
    const fields = new FieldsWriter(16)
    const encoded = cases.map((c) => {
      const start = fields.at
      fields.string(c.key)
      if (typeof c.value === 'string') fields.string(c.value)
      else fields.bytes(c.value)
      fields.headers(c.headers)
      return fields.view(start)
    })
    const timestamp = now
    const viaFields = createRecordsBatch(encoded.map((e) => ({ topic: 't', partition: 0, encoded: e, timestamp })) as unknown as Message[]).buffer
    const viaClient = createRecordsBatch(
      cases.map((c) => ({
        topic: 't',
        partition: 0,
        key: c.key === undefined ? undefined : bytes(c.key),
        value: c.value === null ? null : typeof c.value === 'string' ? bytes(c.value) : Buffer.from(c.value),
        headers: new Map(Object.entries(c.headers ?? {}).map(([k, v]) => [bytes(k), bytes(v)])),
        timestamp,
      })) as unknown as Message[],
    ).buffer
    expect(viaFields.equals(viaClient)).toBe(true)

    const records = consumedRecords(readRecordsBatch(Reader.from(viaFields)), 't', 0, 0n, 1)
    records.forEach((record, i) => {
      const c = cases[i]
      expect(record.key).toBe(c.key)
      if (c.value === null) expect(record.value).toBeNull()
      else expect(record.value!.equals(typeof c.value === 'string' ? bytes(c.value) : Buffer.from(c.value))).toBe(true)
      expect(record.headers).toEqual(c.headers ?? {})
    })
  })

  test('string() says where the bytes start, for the partitioner to read the key', () => {
    const fields = new FieldsWriter(8)
    fields.string('before')
    const short = fields.string('user-1')
    expect(fields.view(short).toString()).toBe('user-1')
    const long = 'k'.repeat(100)
    const at = fields.string(long)
    expect(fields.view(at).toString()).toBe(long)
  })
})
