import { describe, expect, test } from 'bun:test'
import { PartitionLog, type StoredRecord } from './partition-log.ts'

const record = (key: string | undefined, value: string | null, timestamp = 0): StoredRecord => ({ key, value, headers: {}, timestamp })

/** Every record from `from` on, as [offset, key, value], and the offset after them. */
function readAll(log: PartitionLog, from = 0): { records: Array<[number, string | undefined, string | null]>; next: number } {
  const records: Array<[number, string | undefined, string | null]> = []
  const next = log.read(from, Number.MAX_SAFE_INTEGER, (r, offset) => records.push([offset, r.key, r.value as string | null]))
  return { records, next }
}

describe('PartitionLog', () => {
  test('reads by offset, at most `max` records, and says where the next read goes on', () => {
    const log = new PartitionLog()
    for (let i = 0; i < 5; i++) expect(log.append(record(`k${i}`, `v${i}`))).toBe(i)
    const seen: number[] = []
    expect(log.read(1, 3, (_, offset) => seen.push(offset))).toBe(4)
    expect(seen).toEqual([1, 2, 3])
    expect(log.read(5, 3, () => seen.push(-1))).toBe(5)
    expect([log.start, log.end]).toEqual([0, 5])
  })

  test('retention drops the old records before a bound, and offsets stay where they were', () => {
    const log = new PartitionLog()
    for (let i = 0; i < 10; i++) log.append(record(`k${i}`, `v${i}`, i * 100))
    // Older than 500 ms, but not past offset 3 (a group has not committed further).
    log.retain(3, 500)
    expect([log.start, log.end]).toEqual([3, 10])
    // Past any bound, the age still counts: offsets 5 on are 500 ms or younger.
    log.retain(Number.POSITIVE_INFINITY, 500)
    expect([log.start, log.end]).toEqual([5, 10])
    // A read from before the start begins at the start, as a consumer reset to the earliest offset.
    expect(readAll(log, 0)).toEqual({ records: [5, 6, 7, 8, 9].map((i) => [i, `k${i}`, `v${i}`]), next: 10 })
    expect(log.append(record('k10', 'v10', 1_000))).toBe(10)
  })

  test('retention lets go of the dropped records over many rounds, and reads stay right', () => {
    const log = new PartitionLog()
    for (let i = 0; i < 5_000; i++) {
      log.append(record(`k${i}`, `v${i}`, i))
      if (i % 7 === 0) log.retain(i - 100, Number.POSITIVE_INFINITY)
    }
    // The last round, at 4,998, kept the 100 before it.
    expect([log.start, log.end]).toEqual([4_898, 5_000])
    expect(readAll(log, 4_998).records).toEqual([
      [4_998, 'k4998', 'v4998'],
      [4_999, 'k4999', 'v4999'],
    ])
  })

  test('compaction keeps the latest record of each key, steps reads over the rest, and drops old tombstones', () => {
    const log = new PartitionLog()
    // 2,048 writes over 4 keys, then a tombstone of k0 (old) and of k1 (recent), and a record without a key.
    for (let i = 0; i < 2_048; i++) log.append(record(`k${i % 4}`, `v${i}`, 0))
    log.append(record('k0', null, 10))
    log.append(record(undefined, 'keyless', 20))
    log.append(record('k1', null, 1_000))
    log.compact(500)
    const { records, next } = readAll(log)
    // k0's tombstone was older than 500 and goes with every k0 before it; k1's stays.
    expect(records).toEqual([
      [2_046, 'k2', 'v2046'],
      [2_047, 'k3', 'v2047'],
      [2_049, undefined, 'keyless'],
      [2_050, 'k1', null],
    ])
    expect(next).toBe(2_051)
    // The compacted offsets before the first record left are dropped as a start moved by retention.
    expect([log.start, log.end]).toEqual([2_046, 2_051])
    // A read between records goes on past the empty offsets.
    const seen: number[] = []
    expect(log.read(2_048, 1, (_, offset) => seen.push(offset))).toBe(2_050)
    expect(seen).toEqual([2_049])
  })

  test('compaction waits until the records appended since the last one (1,024 at least) are as many as the offsets spanned before them', () => {
    const log = new PartitionLog()
    for (let i = 0; i < 1_000; i++) log.append(record('same', `v${i}`))
    log.compact(0)
    // Under 1,024 appended: nothing compacted yet.
    expect(readAll(log).records.length).toBe(1_000)
    for (let i = 1_000; i < 1_024; i++) log.append(record('same', `v${i}`))
    log.compact(0)
    expect(readAll(log).records).toEqual([[1_023, 'same', 'v1023']])
    // One record held: the next compaction waits for 1,024 more.
    for (let i = 1_024; i < 1_100; i++) log.append(record('same', `v${i}`))
    log.compact(0)
    expect(readAll(log).records.length).toBe(77)
  })

  test('compaction waits for as many appends as the offsets held before them, however few of those are live', () => {
    const log = new PartitionLog()
    for (let i = 0; i < 2_000; i++) log.append(record(`k${i}`, 'v'))
    log.compact(0)
    expect(readAll(log).records.length).toBe(2_000)
    // 1,500 appended against 2,000 held before them: not yet.
    for (let i = 0; i < 1_500; i++) log.append(record('same', `v${i}`))
    log.compact(0)
    expect(readAll(log).records.length).toBe(3_500)
    // 2,000 against 2,000: the pass keeps the 2,000 keys and the last of 'same'.
    for (let i = 1_500; i < 2_000; i++) log.append(record('same', `v${i}`))
    log.compact(0)
    expect(readAll(log).records.at(-1)).toEqual([3_999, 'same', 'v1999'])
    expect(readAll(log).records.length).toBe(2_001)
  })
})
