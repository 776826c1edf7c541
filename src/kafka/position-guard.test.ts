import { describe, expect, test } from 'bun:test'
import { PositionGuard } from './position-guard.ts'
import type { ConsumedRecord, ReadResult, RecordPosition } from './types.ts'

const record = (offset: number): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset: BigInt(offset),
  key: 'k',
  value: Buffer.from(String(offset)),
  headers: {},
  timestamp: 0,
  generation: 1,
})

/** A partition whose committed data records sit at `offsets` (gaps are markers or aborted records). */
const partition = (offsets: number[]) => async (from: RecordPosition[]): Promise<ReadResult[]> =>
  from.map((p) => ({ ...p, records: offsets.filter((o) => BigInt(o) >= p.offset).map(record), next: p.offset }))

const offsetsOf = (records: ConsumedRecord[]) => records.map((r) => Number(r.offset))

describe('position guard', () => {
  test('admits records from the committed offset, drops the ones below it', async () => {
    const guard = new PositionGuard(partition([5, 6, 7]))
    guard.reset([{ topic: 't', partition: 0 }], new Map([['t:0', 6n]]))
    expect(offsetsOf(await guard.admit([record(5), record(6), record(7)]))).toEqual([6, 7])
    expect(offsetsOf(await guard.admit([record(7)]))).toEqual([])
  })

  test('an offset delivered twice within one batch (overlapping fetches) is admitted once', async () => {
    const guard = new PositionGuard(partition([6, 7, 8]))
    guard.reset([{ topic: 't', partition: 0 }], new Map([['t:0', 6n]]))
    expect(offsetsOf(await guard.admit([record(6), record(7), record(7), record(8), record(8)]))).toEqual([6, 7, 8])
  })

  test('a jump over offsets that hold no committed record (a commit marker) is fine', async () => {
    const guard = new PositionGuard(partition([4, 6]))
    guard.reset([{ topic: 't', partition: 0 }], new Map([['t:0', 5n]]))
    expect(offsetsOf(await guard.admit([record(6)]))).toEqual([6])
  })

  test('committed records the consumer skipped after an assignment are read and delivered first', async () => {
    const guard = new PositionGuard(partition([5, 6, 7, 8]))
    guard.reset([{ topic: 't', partition: 0 }], new Map([['t:0', 5n]]))
    const admitted = await guard.admit([record(7), record(8)])
    expect(offsetsOf(admitted)).toEqual([5, 6, 7, 8])
    expect(admitted.every((r) => r.generation === 1)).toBe(true)
    expect(offsetsOf(await guard.admit([record(8), record(9)]))).toEqual([9])
  })

  test('records received in an older generation past the committed offset are read again for the new one, even when nothing more arrives', async () => {
    const guard = new PositionGuard(partition([5, 6, 7, 8]))
    for (const offset of [5, 6, 7, 8]) guard.received(record(offset))
    guard.reset([{ topic: 't', partition: 0 }], new Map([['t:0', 5n]]))
    const [behind, ...others] = await guard.behind(2)
    expect(offsetsOf(behind)).toEqual([5, 6, 7, 8])
    expect(others).toEqual([])
    expect(behind.every((r) => r.generation === 2)).toBe(true)
    // The client's own redelivery of them, if it comes, is dropped; what follows is admitted.
    expect(offsetsOf(await guard.admit([record(7), record(8), record(9)]))).toEqual([9])
    expect(await guard.behind(2)).toEqual([])
  })

  test('nothing is behind where the committed offset is past what was received, or the partition is not assigned', async () => {
    const guard = new PositionGuard(partition([5, 6, 7, 8]))
    for (const offset of [5, 6]) guard.received(record(offset))
    guard.received({ ...record(3), partition: 1 })
    guard.reset([{ topic: 't', partition: 0 }], new Map([['t:0', 7n]]))
    expect(await guard.behind(2)).toEqual([])
  })

  test('within a generation later jumps are not checked again (markers between transactions)', async () => {
    let reads = 0
    const read = partition([0, 2, 4])
    const guard = new PositionGuard(async (from) => {
      reads++
      return read(from)
    })
    guard.reset([{ topic: 't', partition: 0 }], new Map())
    expect(offsetsOf(await guard.admit([record(0)]))).toEqual([0])
    expect(offsetsOf(await guard.admit([record(2)]))).toEqual([2])
    expect(offsetsOf(await guard.admit([record(4)]))).toEqual([4])
    expect(reads).toBe(0)
  })
})
