import { describe, expect, test } from 'bun:test'
import { eventually } from '../../../test/harness/eventually.ts'
import type { ConsumedRecord } from '../types.ts'
import { MemoryLog } from './log.ts'

const retentionMs = 60_000
/** A moment past the retention of everything appended so far. */
const later = () => Date.now() + retentionMs + 1

/** Every record of partition 0 of `topic` a reader without a group gets from offset 0, as [offset, key, value]. */
async function readable(log: MemoryLog, topic: string): Promise<{ records: Array<[number, string | undefined, string | null]>; next: bigint }> {
  const [result] = await log.read([{ topic, partition: 0, offset: 0n }])
  return { records: result!.records.map((r) => [Number(r.offset), r.key, r.value?.toString() ?? null]), next: result!.next }
}

describe('memory cluster cleaning', () => {
  test('retention drops only what every group reading the topic has committed; offsets and ends stay', async () => {
    const log = new MemoryLog({ retentionMs })
    await log.admin.ensureTopics([{ name: 'events', partitions: 1 }])
    await log.producer().send(Array.from({ length: 10 }, (_, i) => ({ topic: 'events', key: `k${i}`, value: `v${i}` })))
    const received: ConsumedRecord[] = []
    const consumer = log.consumer({ groupId: 'readers', topics: ['events'] })
    await consumer.start({ onAssigned() {}, onRevoked() {}, onRecords: (records) => void received.push(...records) })
    try {
      await eventually(() => expect(received.length).toBe(10), 5_000)
      // Joined but committed nothing: the group holds every record.
      log.cluster.clean(later())
      expect((await readable(log, 'events')).records.length).toBe(10)
      await consumer.commit(received.slice(0, 6))
      log.cluster.clean(later())
      expect(await readable(log, 'events')).toEqual({ records: [6, 7, 8, 9].map((i) => [i, `k${i}`, `v${i}`]), next: 10n })
      expect(await log.admin.endOffsets('events')).toEqual([10n])
      // Within the retention nothing goes, committed or not.
      await consumer.commit(received)
      log.cluster.clean(Date.now())
      expect((await readable(log, 'events')).records.length).toBe(4)
      log.cluster.clean(later())
      expect(await readable(log, 'events')).toEqual({ records: [], next: 10n })
      // The next record takes the next offset.
      const [position] = await log.producer().send([{ topic: 'events', key: 'k10', value: 'v10' }])
      expect(position!.offset).toBe(10n)
    } finally {
      await consumer.close()
    }
  })

  test('a compacted topic keeps the latest record of each key; a topic with its own retention.ms keeps that', async () => {
    const log = new MemoryLog({ retentionMs })
    await log.admin.ensureTopics([
      { name: 'table', partitions: 1, config: { 'cleanup.policy': 'compact' } },
      { name: 'letters', partitions: 1, config: { 'retention.ms': String(7 * 86_400_000) } },
    ])
    const producer = log.producer()
    await producer.send(Array.from({ length: 2_048 }, (_, i) => ({ topic: 'table', key: `k${i % 3}`, value: `v${i}` })))
    await producer.send([{ topic: 'letters', key: 'dead', value: 'letter' }])
    log.cluster.clean(later())
    expect(await readable(log, 'table')).toEqual({
      records: [
        [2_045, 'k2', 'v2045'],
        [2_046, 'k0', 'v2046'],
        [2_047, 'k1', 'v2047'],
      ],
      next: 2_048n,
    })
    expect((await readable(log, 'letters')).records).toEqual([[0, 'dead', 'letter']])
  })

  test('by default every record is kept', async () => {
    const log = new MemoryLog()
    await log.admin.ensureTopics([{ name: 'events', partitions: 1 }])
    await log.producer().send(Array.from({ length: 5 }, (_, i) => ({ topic: 'events', key: `k${i}`, value: `v${i}` })))
    log.cluster.clean(Date.now() + 365 * 86_400_000)
    expect((await readable(log, 'events')).records.length).toBe(5)
  })
})
