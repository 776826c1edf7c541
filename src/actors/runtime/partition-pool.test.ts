import { describe, expect, test } from 'bun:test'
import { eventually } from '../../../test/harness/eventually.ts'
import { MemoryLog } from '../../kafka/memory/index.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import { sleep } from '../../time.ts'
import { PartitionPool } from './partition-pool.ts'
import { createActorSystem } from './supervisor.ts'

describe('PartitionPool', () => {
  test('one actor per assigned partition; co-partitioned topics meet in the same actor; revocation moves actors', async () => {
    const log = new MemoryLog()
    await log.admin.ensureTopics([
      { name: 'orders', partitions: 4 },
      { name: 'results', partitions: 4 },
    ])
    const seen = new Map<string, Array<{ topic: string; partition: number; value: string }>>()
    const root = createActorSystem(() => {})
    const pool = (member: string) =>
      new PartitionPool({
        name: `order@${member}`,
        supervisor: root.child(member),
        create: (partition) => ({
          receive(records: ConsumedRecord[]) {
            const key = `${member}/${partition}`
            for (const r of records) seen.set(key, [...(seen.get(key) ?? []), { topic: r.topic, partition: r.partition, value: String(r.value) }])
          },
        }),
      })
    const a = pool('a')
    const b = pool('b')
    const ca = log.consumer({ groupId: 'g', topics: ['orders', 'results'] })
    await ca.start(a)
    expect(a.partitions()).toEqual([0, 1, 2, 3])
    const cb = log.consumer({ groupId: 'g', topics: ['orders', 'results'] })
    await cb.start(b)
    // Range assignment by member id: one member holds [0, 1], the other [2, 3].
    const halves = [a.partitions(), b.partitions()].sort((x, y) => x[0] - y[0])
    expect(halves).toEqual([[0, 1], [2, 3]])
    const running = root.statuses().filter((s) => s.status === 'running').map((s) => s.actor).sort()
    expect(running).toEqual([...a.partitions().map((p) => `order@a-${p}`), ...b.partitions().map((p) => `order@b-${p}`)].sort())

    const producer = log.producer()
    for (let p = 0; p < 4; p++) {
      await producer.send([
        { topic: 'orders', value: `o${p}`, partition: p },
        { topic: 'results', value: `r${p}`, partition: p },
      ])
    }
    await eventually(() => expect([...seen.values()].flat()).toHaveLength(8), 1_000)
    for (const [key, records] of seen) {
      const partition = Number(key.split('/')[1])
      expect(records.every((r) => r.partition === partition)).toBe(true)
      expect(records.map((r) => r.value).sort()).toEqual([`o${partition}`, `r${partition}`])
    }
    expect([...seen.keys()].sort()).toEqual([...a.partitions().map((p) => `a/${p}`), ...b.partitions().map((p) => `b/${p}`)].sort())

    await cb.close()
    expect(a.partitions()).toEqual([0, 1, 2, 3])
    expect(b.partitions()).toEqual([])
    await log.close()
  })

  test('a revoked actor finishes the batch in hand before the partition moves on', async () => {
    const log = new MemoryLog({ maxBatch: 1 })
    await log.admin.ensureTopics([{ name: 't', partitions: 1 }])
    const events: string[] = []
    const root = createActorSystem(() => {})
    const pool = new PartitionPool({
      name: 'slow',
      supervisor: root,
      create: () => ({
        async receive(records: ConsumedRecord[]) {
          events.push(`begin ${records[0].value}`)
          await sleep(30)
          events.push(`end ${records[0].value}`)
        },
      }),
    })
    const consumer = log.consumer({ groupId: 'g', topics: ['t'] })
    await consumer.start(pool)
    await log.producer().send([{ topic: 't', value: 'a' }, { topic: 't', value: 'b' }, { topic: 't', value: 'c' }])
    await eventually(() => expect(events).toContain('begin a'), 1_000)
    await pool.onRevoked([{ topic: 't', partition: 0 }])
    expect(events[events.length - 1]).toBe('end a')
    expect(events).not.toContain('end c')
    await log.close()
  })

  test('a delivery larger than maxBatchRecords reaches the actor as batches of at most that many, in offset order', async () => {
    const batches: bigint[][] = []
    const root = createActorSystem(() => {})
    const pool = new PartitionPool({
      name: 'drain',
      supervisor: root,
      maxBatchRecords: 500,
      create: () => ({ receive: (records: ConsumedRecord[]) => void batches.push(records.map((r) => r.offset)) }),
    })
    pool.onAssigned([{ topic: 't', partition: 0 }], 1)
    // What one fetch of a backlog brings: 1 MiB of a partition is about 2,000 orders.
    const fetched = Array.from({ length: 1_250 }, (_, i): ConsumedRecord => ({ topic: 't', partition: 0, offset: BigInt(i), key: undefined, value: Buffer.from(`r${i}`), headers: {}, timestamp: 0, generation: 1 }))
    await pool.onRecords(fetched)
    await eventually(() => expect(batches.flat()).toHaveLength(1_250), 1_000)
    expect(batches.map((b) => b.length)).toEqual([500, 500, 250])
    expect(batches.flat()).toEqual(fetched.map((r) => r.offset))
    await pool.stop()
  })

  test('a partition that delivers nothing for idleAfterMs has its actor told an empty batch, once per quiet spell', async () => {
    const log = new MemoryLog()
    await log.admin.ensureTopics([{ name: 'orders', partitions: 2 }])
    const told: Array<{ partition: number; records: string[] }> = []
    const root = createActorSystem(() => {})
    const pool = new PartitionPool({
      name: 'idle',
      supervisor: root.child('m'),
      idleAfterMs: 100,
      create: (partition) => ({ receive: (records: ConsumedRecord[]) => void told.push({ partition, records: records.map((r) => String(r.value)) }) }),
    })
    const consumer = log.consumer({ groupId: 'g', topics: ['orders'] })
    await consumer.start(pool)
    // Both partitions start quiet: one empty batch each, and no more while they stay quiet.
    await eventually(() => expect(told.filter((t) => t.records.length === 0).map((t) => t.partition).sort()).toEqual([0, 1]), 2_000)
    await sleep(300)
    expect(told.length).toBe(2)
    // Records end the quiet spell; the next one is told again, after the records.
    await log.producer().send([{ topic: 'orders', value: 'o1', partition: 1 }])
    await eventually(() => expect(told.slice(2)).toEqual([{ partition: 1, records: ['o1'] }, { partition: 1, records: [] }]), 2_000)
    expect(told.filter((t) => t.partition === 0)).toEqual([{ partition: 0, records: [] }])
    await consumer.close()
    await log.close()
  })
})
