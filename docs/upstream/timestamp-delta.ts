/**
 * @platformatic/kafka 2.12.1 writes a record's timestamp delta (a zigzag varlong) with a 32-bit
 * shift and stops once the low 32 bits are written (`int64ZigZagEncode` and `writeVarInt64` of
 * @platformatic/dynamic-buffer): a record stamped 2^31 ms (~25 days) or more after, or before, the
 * first of its batch reads back with another timestamp. shop stamps its records at the send, so
 * its deltas are milliseconds; the project's patch writes the delta right anyway
 * (src/kafka/platformatic/records.test.ts holds it). No broker needed: the client's own writer and
 * reader.
 *
 *   bun docs/upstream/timestamp-delta.ts      (exit 1: the bug reproduced)
 */
import { Reader, createRecord, readRecord } from '@platformatic/kafka'
import { verdict } from './common.ts'

const first = 1_763_800_000_000n
const stamped = [first + 5n, first + 2n ** 31n, first + 2n ** 40n, first - 2n ** 35n]
const read = stamped.map((timestamp, i) => {
  const record = readRecord(Reader.from(createRecord({ topic: 't', key: Buffer.from('k'), value: Buffer.from('v'), timestamp }, i, first).buffer))
  return String(first + BigInt(record.timestampDelta))
})
verdict("records' timestamps, written and read by the client, relative to the batch's first", stamped.map(String), read)
