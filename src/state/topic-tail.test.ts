import { describe, expect, test } from 'bun:test'
import { eventually } from '../../test/harness/eventually.ts'
import { MemoryLog } from '../kafka/memory/index.ts'
import type { ConsumedRecord, RecordPosition } from '../kafka/types.ts'
import { createLogger } from '../log.ts'
import { TopicTail } from './topic-tail.ts'

const logger = createLogger('silent')

/** A tail of `topic` that keeps the values it was given, in order. */
function tailOf(log: MemoryLog, topic: string, from?: (end: bigint) => bigint) {
  const got: string[] = []
  const tail = new TopicTail({ log, logger, topic, from, pollWaitMs: 50, onRecords: (records: ConsumedRecord[]) => got.push(...records.map((r) => String(r.value))) })
  return { tail, got }
}

describe('TopicTail', () => {
  test("the tails of one log follow in one read per round over all their partitions; each gets its own records, from its own position", async () => {
    const log = new MemoryLog()
    await log.admin.ensureTopics([{ name: 'a', partitions: 2 }, { name: 'b', partitions: 1 }])
    const producer = log.producer()
    await producer.send(['a0', 'a1'].map((value, partition) => ({ topic: 'a', value, partition })))
    await producer.send([{ topic: 'b', value: 'b0' }])
    const following: RecordPosition[][] = []
    const read = log.read.bind(log)
    log.read = (from, options) => {
      if (options?.maxWaitMs) following.push(from)
      return read(from, options)
    }
    const all = tailOf(log, 'a')
    const newOnly = tailOf(log, 'a', (end) => end)
    const b = tailOf(log, 'b')
    for (const { tail } of [all, newOnly, b]) await tail.start()
    expect([all.got, newOnly.got, b.got]).toEqual([['a0', 'a1'], [], ['b0']])
    following.length = 0 // the rounds from here on began with every tail following

    await producer.send(['a2', 'a3'].map((value, partition) => ({ topic: 'a', value, partition })))
    await producer.send([{ topic: 'b', value: 'b1' }])
    await eventually(() => expect([all.got.toSorted(), newOnly.got.toSorted(), b.got]).toEqual([['a0', 'a1', 'a2', 'a3'], ['a2', 'a3'], ['b0', 'b1']]), 5_000)
    // Every following read covered each partition once: a's two (from the lowest position a tail needs) and b's.
    expect(following.length).toBeGreaterThan(0)
    for (const positions of following) expect(positions.map((p) => `${p.topic}:${p.partition}`).sort()).toEqual(['a:0', 'a:1', 'b:0'])

    // A stopped tail gets nothing more; the others go on. The record to `a` after b's marks the known end.
    await b.tail.stop()
    await producer.send([{ topic: 'b', value: 'b2' }])
    await producer.send([{ topic: 'a', value: 'a4', partition: 0 }])
    await eventually(() => expect(all.got).toContain('a4'), 5_000)
    expect(b.got).toEqual(['b0', 'b1'])
    expect(newOnly.got.toSorted()).toEqual(['a2', 'a3', 'a4'])
    for (const { tail } of [all, newOnly]) await tail.stop()
  })
})
