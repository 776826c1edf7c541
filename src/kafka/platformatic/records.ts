import type { RecordsBatch } from '@platformatic/kafka'
import { LogError } from '../../errors.ts'
import type { ConsumedRecord, Headers } from '../types.ts'

/** Values stay bytes; keys and headers are strings, encoded and decoded here, never by the client's serializers. */
export type Bytes = Buffer

/**
 * A fetched batch's data records as they cross the log port, decoded straight from the batch's
 * bytes (`recordsData`, kept whole by the project's patch of the client): the key and every header
 * as UTF-8 strings read out of the batch, the value as a view of it. The client's own path made a
 * Buffer per field, an object per record, a Map and an array of entries per record's headers, then
 * strings, then shop an object of those: ~15 µs of CPU per consumed record, two thirds of it in
 * that decoding (a probe consuming 100,000 order records, docs/performance.md).
 *
 * Records before `from` are left out (a fetch may start inside a batch). A header without a name
 * is left out and a header without a value reads as '', as `Log.read` always read them. A batch
 * whose bytes do not hold the records it announces is refused with LogError.
 */
export function consumedRecords(batch: RecordsBatch, topic: string, partition: number, from: bigint, generation: number): ConsumedRecord[] {
  const data = batch.recordsData
  const firstTimestamp = Number(batch.firstTimestamp)
  const records: ConsumedRecord[] = []
  const cursor = new Cursor(data, () => `${topic}:${partition} batch at ${batch.firstOffset}`)
  for (let i = 0; i < batch.recordsCount; i++) {
    const length = cursor.varint()
    const end = cursor.at + length
    cursor.at++ // attributes: unused in v2 records
    const timestampDelta = cursor.varint()
    const offset = batch.firstOffset + BigInt(cursor.varint())
    const key = cursor.string()
    const value = cursor.bytes()
    const headerCount = cursor.varint()
    const headers: Headers = {}
    for (let h = 0; h < headerCount; h++) {
      const name = cursor.string(repeated)
      const content = cursor.string(repeated) ?? ''
      if (name === undefined) continue
      if (name === '__proto__') Object.defineProperty(headers, name, { value: content, enumerable: true, writable: true, configurable: true })
      else headers[name] = content
    }
    if (cursor.at !== end) throw cursor.corrupt(`record ${i} is ${length} bytes long, but its fields end at ${cursor.at - end + length}`)
    if (offset < from) continue
    records.push({ topic, partition, offset, key, value, headers, timestamp: firstTimestamp + timestampDelta, generation })
  }
  return records
}

/**
 * The strings of header names and of most header values repeat from record to record (`ce_type`,
 * `shop.order.created`, `application/json`, a batch's `ce_time`): one made for each of 1,024
 * slots, by a hash of its bytes, is handed out again while its slot holds it (a unique value only
 * takes a slot over). Only ASCII strings of up to 32 bytes, whose bytes are their char codes.
 */
class RepeatedStrings {
  readonly #texts: Array<string | undefined> = new Array(1024)

  text(data: Buffer, start: number, end: number): string {
    const length = end - start
    if (length > 32) return data.toString('utf8', start, end)
    let hash = length
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + data[i]!) | 0
    const slot = hash & 1023
    const known = this.#texts[slot]
    if (known !== undefined && known.length === length) {
      let i = 0
      while (i < length && known.charCodeAt(i) === data[start + i]) i++
      if (i === length) return known
    }
    const text = data.toString('utf8', start, end)
    // ASCII: as many characters as bytes, none of them beyond 0x7f.
    if (text.length === length && !/[^\x00-\x7f]/.test(text)) this.#texts[slot] = text
    return text
  }
}

const repeated = new RepeatedStrings()

/** A position in a batch's record bytes, reading Kafka's zigzag varints and length-prefixed fields. */
class Cursor {
  at = 0
  constructor(
    private readonly data: Buffer,
    /** Names the batch in an error; made only then. */
    private readonly where: () => string,
  ) {}

  /** A zigzag varint (or varlong, exact up to 2^53). */
  varint(): number {
    const data = this.data
    let byte = data[this.at++]
    if (byte === undefined) throw this.corrupt('it ends inside a varint')
    if (byte < 0x80) return (byte >>> 1) ^ -(byte & 1)
    let value = byte & 0x7f
    let scale = 0x80
    do {
      byte = data[this.at++]
      if (byte === undefined) throw this.corrupt('it ends inside a varint')
      value += (byte & 0x7f) * scale
      scale *= 0x80
    } while (byte & 0x80)
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2
  }

  /** A varint length, then that many bytes as UTF-8; undefined for the null field (length -1). */
  string(strings?: RepeatedStrings): string | undefined {
    const length = this.varint()
    if (length < 0) return undefined
    const start = this.#take(length)
    return strings ? strings.text(this.data, start, this.at) : this.data.toString('utf8', start, this.at)
  }

  /** A varint length, then a view of that many bytes; null for the null field (length -1). */
  bytes(): Buffer | null {
    const length = this.varint()
    if (length < 0) return null
    const start = this.#take(length)
    return this.data.subarray(start, this.at)
  }

  #take(length: number): number {
    const start = this.at
    this.at += length
    if (this.at > this.data.length) throw this.corrupt(`a field of ${length} bytes at ${start} runs past its end (${this.data.length})`)
    return start
  }

  corrupt(why: string): LogError {
    return new LogError(`corrupt record batch (${this.where()}): ${why}`)
  }
}

/**
 * Records' key, value and headers written as a v2 record carries them after its offset delta,
 * all of a send into one buffer: the project's patch of the client writes them into the batch as
 * they are (`encoded`), and frames each with its length, attributes, timestamp and offset deltas.
 * The client serialized each key and header string into a Buffer of its own, kept them in two
 * Maps per record and wrote them field by field.
 */
export class FieldsWriter {
  #buffer: Buffer
  #at = 0

  constructor(estimate: number) {
    this.#buffer = Buffer.allocUnsafe(Math.max(256, estimate))
  }

  /** Where the next field starts. */
  get at(): number {
    return this.#at
  }

  /** `text` as UTF-8 after its length; returns where its bytes start. */
  string(text: string | undefined): number {
    if (text === undefined) {
      this.#varint(-1)
      return this.#at
    }
    // A short ASCII string, nearly every key and header: its length is its UTF-8 length, and a loop
    // writes it without a call into the runtime (~240 against ~420 ns for a record's fourteen
    // header strings; Buffer#write was 5.6% of a draining order,inventory process's samples). The
    // loop costs ~1 ns a character and a call ~30 to 50 ns whatever the length, so a string of
    // more than 48 goes through the call.
    const start = this.#at
    const length = text.length
    if (length > 48) return this.#utf8(text)
    this.#varint(length)
    this.#room(length)
    const buffer = this.#buffer
    let at = this.#at
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i)
      if (code >= 0x80) {
        this.#at = start
        return this.#utf8(text)
      }
      buffer[at++] = code
    }
    this.#at = at
    return at - length
  }

  #utf8(text: string): number {
    const length = Buffer.byteLength(text, 'utf8')
    this.#varint(length)
    this.#room(length)
    const start = this.#at
    this.#at += this.#buffer.write(text, this.#at, 'utf8')
    return start
  }

  bytes(bytes: Uint8Array | null): void {
    if (bytes === null) return this.#varint(-1)
    this.#varint(bytes.length)
    this.#room(bytes.length)
    this.#buffer.set(bytes, this.#at)
    this.#at += bytes.length
  }

  headers(headers: Headers | undefined): void {
    if (headers === undefined) return this.#varint(0)
    let count = 0
    for (const _ in headers) count++
    this.#varint(count)
    for (const name in headers) {
      this.string(name)
      this.string(headers[name])
    }
  }

  /** The bytes written from `start` to `end`: a view, which stays valid when the writer grows (it grows into a new buffer). */
  view(start: number, end = this.#at): Buffer {
    return this.#buffer.subarray(start, end)
  }

  /** A zigzag varint; `value` is a length or -1 (null). */
  #varint(value: number): void {
    this.#room(5)
    let n = value < 0 ? 1 : value * 2
    while (n >= 0x80) {
      this.#buffer[this.#at++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    this.#buffer[this.#at++] = n
  }

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#at + bytes))
    this.#buffer.copy(grown, 0, 0, this.#at)
    this.#buffer = grown
  }
}
