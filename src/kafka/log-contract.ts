import { afterEach, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { FencedError, TopicMismatchError } from '../errors.ts'
import { sleep } from '../time.ts'
import { partitionForKey } from './partitioner.ts'
import { readToEnd } from './read-to-end.ts'
import type { ConsumerListener, Log } from './port.ts'
import { type ConsumedRecord, type TopicPartition, tpKey } from './types.ts'

/**
 * The log port's contract, run once per adapter (memory.test.ts, test/integration/kafka-log.test.ts).
 * Every test uses its own topics and groups and closes what it opens.
 */
export interface LogContractOptions {
  name: string
  create: () => Log
  /** How long to wait for an expected delivery or rebalance. */
  patienceMs: number
}

const unique = (what: string) => `test-${what}-${randomUUID().slice(0, 8)}`

/** Polls `check` until it passes or `ms` elapse; then asserts it once more so the failure is readable. */
export async function eventually(check: () => void | Promise<void>, ms: number): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() > until) throw error
      await sleep(25)
    }
  }
}

/** A listener that records what it is told. */
function recorder(onRecords?: (records: ConsumedRecord[]) => Promise<void> | void) {
  const state = {
    records: [] as ConsumedRecord[],
    assigned: [] as TopicPartition[],
    generation: -1,
    errors: [] as Error[],
  }
  const listener: ConsumerListener = {
    onAssigned(partitions, generation) {
      state.assigned = partitions
      state.generation = generation
    },
    onRevoked() {
      state.assigned = []
    },
    async onRecords(records) {
      state.records.push(...records)
      await onRecords?.(records)
    },
    onError(error) {
      state.errors.push(error)
    },
  }
  return { state, listener }
}

const values = (records: ConsumedRecord[]) => records.map((r) => r.value.toString())

export function runLogContract({ name, create, patienceMs }: LogContractOptions): void {
  describe(`log port contract: ${name}`, () => {
    let log: Log
    const opened: Log[] = []
    const open = () => {
      const l = create()
      opened.push(l)
      return l
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((l) => l.close()))
    })

    async function topic(partitions: number): Promise<string> {
      log ??= open()
      const t = unique('topic')
      await log.admin.ensureTopics([{ name: t, partitions }])
      return t
    }

    /**
     * A record delivered to member `ca` of a group that has since moved to a newer generation (a
     * second member joined): committing its offset must be refused.
     */
    async function staleDelivery() {
      log = open()
      const t = await topic(2)
      const group = unique('group')
      await log.producer().send([{ topic: t, value: 'x', partition: 0 }])
      const a = recorder()
      const ca = log.consumer({ groupId: group, topics: [t] })
      await ca.start(a.listener)
      await eventually(() => expect(a.state.records.length).toBe(1), patienceMs)
      const stale = a.state.records[0]
      const generation = a.state.generation
      await open().consumer({ groupId: group, topics: [t] }).start(recorder().listener)
      await eventually(() => expect(a.state.generation).toBeGreaterThan(generation), patienceMs)
      return { t, group, ca, stale }
    }

    test('records of one partition are delivered in order, once, to a lone member', async () => {
      log = open()
      const t = await topic(3)
      const producer = log.producer()
      const sent = Array.from({ length: 60 }, (_, i) => ({ topic: t, key: `user-${i % 4}`, value: `v${i}` }))
      await producer.send(sent.slice(0, 30))
      await producer.send(sent.slice(30))
      const { state, listener } = recorder()
      const consumer = log.consumer({ groupId: unique('group'), topics: [t] })
      await consumer.start(listener)
      await eventually(() => expect(state.records.length).toBe(60), patienceMs)
      for (let p = 0; p < 3; p++) {
        const ofPartition = state.records.filter((r) => r.partition === p)
        const offsets = ofPartition.map((r) => r.offset)
        expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)))
        const expected = sent.filter((r) => partitionForKey(r.key, 3) === p).map((r) => r.value)
        expect(values(ofPartition)).toEqual(expected)
      }
    })

    test('a key always lands on the partition of Kafka\'s murmur2 partitioner; headers and keys round-trip', async () => {
      log = open()
      const t = await topic(6)
      const producer = log.producer()
      const keys = ['user-1', 'user-42', 'sku-ABC-123', 'ünïcødé', 'a', '21']
      const positions = await producer.send(keys.map((key) => ({ topic: t, key, value: key, headers: { 'ce-type': 'test' } })))
      const again = await producer.send(keys.map((key) => ({ topic: t, key, value: key })))
      positions.forEach((pos, i) => {
        expect(pos.partition).toBe(partitionForKey(keys[i], 6))
        expect(again[i].partition).toBe(pos.partition)
      })
      const explicit = await producer.send([{ topic: t, key: 'user-1', value: 'x', partition: 5 }])
      expect(explicit[0].partition).toBe(5)
      const { state, listener } = recorder()
      await log.consumer({ groupId: unique('group'), topics: [t] }).start(listener)
      await eventually(() => expect(state.records.length).toBe(keys.length * 2 + 1), patienceMs)
      const first = state.records.find((r) => r.key === 'ünïcødé' && r.headers['ce-type'] === 'test')!
      expect(first.value.toString()).toBe('ünïcødé')
      expect(first.partition).toBe(partitionForKey('ünïcødé', 6))
    })

    test('two members split the partitions; when one leaves, the other takes over', async () => {
      log = open()
      const t = await topic(4)
      const group = unique('group')
      const a = recorder()
      const b = recorder()
      const ca = log.consumer({ groupId: group, topics: [t] })
      await ca.start(a.listener)
      await eventually(() => expect(a.state.assigned.length).toBe(4), patienceMs)
      const cb = open().consumer({ groupId: group, topics: [t] })
      await cb.start(b.listener)
      await eventually(() => {
        expect(a.state.assigned.length).toBe(2)
        expect(b.state.assigned.length).toBe(2)
      }, patienceMs)
      const owned = [...a.state.assigned, ...b.state.assigned].map((tp) => tp.partition).sort()
      expect(owned).toEqual([0, 1, 2, 3])
      expect(ca.assignment().length + cb.assignment().length).toBe(4)
      await cb.close()
      await eventually(() => expect(a.state.assigned.length).toBe(4), patienceMs)
      await log.producer().send([0, 1, 2, 3].map((partition) => ({ topic: t, value: `p${partition}`, partition })))
      await eventually(() => expect(a.state.records.length).toBe(4), patienceMs)
    })

    test('co-partitioned topics: partition p of each goes to the same member', async () => {
      log = open()
      const t1 = await topic(6)
      const t2 = await topic(6)
      const group = unique('group')
      const a = recorder()
      const b = recorder()
      await log.consumer({ groupId: group, topics: [t1, t2] }).start(a.listener)
      await open().consumer({ groupId: group, topics: [t1, t2] }).start(b.listener)
      await eventually(() => {
        expect(a.state.assigned.length).toBe(6)
        expect(b.state.assigned.length).toBe(6)
      }, patienceMs)
      for (const { state } of [a, b]) {
        const of = (t: string) => state.assigned.filter((tp) => tp.topic === t).map((tp) => tp.partition).sort()
        expect(of(t1)).toEqual(of(t2))
      }
    })

    test('a new member resumes from the committed offsets', async () => {
      log = open()
      const t = await topic(1)
      const group = unique('group')
      await log.producer().send(Array.from({ length: 10 }, (_, i) => ({ topic: t, value: `v${i}` })))
      const tx = log.transactionalProducer({ transactionalId: unique('tx') })
      const first = recorder()
      const consumer = log.consumer({ groupId: group, topics: [t] })
      await consumer.start(first.listener)
      await eventually(() => expect(first.state.records.length).toBe(10), patienceMs)
      const transaction = await tx.begin()
      await transaction.sendOffsets(consumer, first.state.records.slice(0, 6))
      await transaction.commit()
      expect(await consumer.committed([{ topic: t, partition: 0 }])).toEqual(new Map([[tpKey(t, 0), 6n]]))
      await consumer.close()
      const second = recorder()
      await open().consumer({ groupId: group, topics: [t] }).start(second.listener)
      await eventually(() => expect(values(second.state.records)).toEqual(['v6', 'v7', 'v8', 'v9']), patienceMs)
    })

    test('at-least-once: commit() stores progress without a transaction; the group resumes after it and monitoring sees it', async () => {
      log = open()
      const t = await topic(2)
      const group = unique('group')
      await log.producer().send(Array.from({ length: 10 }, (_, i) => ({ topic: t, value: `v${i}`, partition: i % 2 })))
      const first = recorder()
      const consumer = log.consumer({ groupId: group, topics: [t] })
      await consumer.start(first.listener)
      await eventually(() => expect(first.state.records.length).toBe(10), patienceMs)
      const p0 = first.state.records.filter((r) => r.partition === 0)
      await consumer.commit(p0.slice(0, 3))
      await consumer.commit(first.state.records.filter((r) => r.partition === 1))
      const byPartition = (positions: Array<{ topic: string; partition: number; offset: bigint }>) =>
        positions.toSorted((a, b) => a.partition - b.partition).map((p) => [p.topic, p.partition, p.offset])
      expect(byPartition(await log.admin.committedOffsets(group))).toEqual([
        [t, 0, 3n],
        [t, 1, 5n],
      ])
      expect(await log.admin.committedOffsets(unique('no-such-group'))).toEqual([])
      await consumer.close()
      const second = recorder()
      await open().consumer({ groupId: group, topics: [t] }).start(second.listener)
      await eventually(() => expect(values(second.state.records)).toEqual(['v6', 'v8']), patienceMs)
    })

    test('at-least-once: offsets delivered under an older generation are refused', async () => {
      const { group, ca, stale } = await staleDelivery()
      await expect(ca.commit([stale])).rejects.toBeInstanceOf(FencedError)
      expect(await log.admin.committedOffsets(group)).toEqual([])
    })

    test('read_committed: a committed transaction is visible, an aborted one never is', async () => {
      log = open()
      const t = await topic(2)
      const tx = log.transactionalProducer({ transactionalId: unique('tx') })
      for (const [value, commit] of [['a', true], ['b', false], ['c', true]] as const) {
        const transaction = await tx.begin()
        await transaction.send([{ topic: t, key: 'k', value }, { topic: t, key: 'other', value: `${value}2` }])
        if (commit) await transaction.commit()
        else await transaction.abort()
      }
      const { state, listener } = recorder()
      await log.consumer({ groupId: unique('group'), topics: [t] }).start(listener)
      await eventually(() => expect(state.records.length).toBe(4), patienceMs)
      await sleep(200)
      expect(values(state.records).sort()).toEqual(['a', 'a2', 'c', 'c2'])
      const end = (await log.admin.endOffsets(t)).reduce((a, b) => a + b, 0n)
      expect(end).toBeGreaterThanOrEqual(4n)
    })

    test('read: committed records from an offset without a group; aborted ones never; readToEnd stops at the end', async () => {
      log = open()
      const t = await topic(2)
      const tx = log.transactionalProducer({ transactionalId: unique('tx') })
      for (const [value, commit] of [['a', true], ['b', false], ['c', true]] as const) {
        const transaction = await tx.begin()
        await transaction.send([{ topic: t, value, partition: 0 }])
        if (commit) await transaction.commit()
        else await transaction.abort()
      }
      await log.producer().send([{ topic: t, value: 'd', partition: 0 }])
      const seen: ConsumedRecord[] = []
      const end = await readToEnd(log, { topic: t, partition: 0 }, 0n, (records) => seen.push(...records))
      expect(values(seen)).toEqual(['a', 'c', 'd'])
      expect(seen.every((r) => r.topic === t && r.partition === 0 && r.generation === -1)).toBe(true)
      expect(end).toBe((await log.admin.endOffsets(t))[0])
      const from = seen[1].offset
      const [again, empty] = await log.read([{ topic: t, partition: 0, offset: from }, { topic: t, partition: 1, offset: 0n }])
      expect(values(again.records)).toEqual(['c', 'd'])
      expect(again.next).toBe(end)
      expect(empty).toEqual({ topic: t, partition: 1, records: [], next: 0n })
      const [atEnd] = await log.read([{ topic: t, partition: 0, offset: end }])
      expect(atEnd.records).toEqual([])
      expect(atEnd.next).toBe(end)
    })

    test('outputs and input offsets commit together: a crash before commit redelivers the input and leaves no output', async () => {
      log = open()
      const input = await topic(1)
      const output = await topic(1)
      const group = unique('group')
      const txId = unique('tx')
      await log.producer().send([{ topic: input, key: 'u', value: 'order-1' }])

      // First worker: processes, writes its output inside a transaction, then "crashes" before commit.
      const crashed = log.transactionalProducer({ transactionalId: txId })
      const first = recorder()
      const c1 = log.consumer({ groupId: group, topics: [input] })
      await c1.start(first.listener)
      await eventually(() => expect(first.state.records.length).toBe(1), patienceMs)
      const doomed = await crashed.begin()
      await doomed.send([{ topic: output, key: 'u', value: 'result-1' }])
      await doomed.sendOffsets(c1, first.state.records)
      await c1.close()

      // Second worker: same transactional id (fences the first, aborting its open transaction).
      const worker = open()
      const producer = worker.transactionalProducer({ transactionalId: txId })
      await producer.init()
      const second = recorder()
      const c2 = worker.consumer({ groupId: group, topics: [input] })
      await c2.start(second.listener)
      await eventually(() => expect(values(second.state.records)).toEqual(['order-1']), patienceMs)
      const check = recorder()
      await worker.consumer({ groupId: unique('reader'), topics: [output] }).start(check.listener)
      await sleep(300)
      expect(check.state.records).toEqual([])

      const transaction = await producer.begin()
      await transaction.send([{ topic: output, key: 'u', value: 'result-1' }])
      await transaction.sendOffsets(c2, second.state.records)
      await transaction.commit()
      await eventually(() => expect(values(check.state.records)).toEqual(['result-1']), patienceMs)
      expect(await c2.committed([{ topic: input, partition: 0 }])).toEqual(new Map([[tpKey(input, 0), 1n]]))
      await expect(doomed.commit()).rejects.toThrow()
    })

    test('a zombie producer is fenced: the older instance of a transactional id cannot commit', async () => {
      log = open()
      const t = await topic(1)
      const id = unique('tx')
      const old = log.transactionalProducer({ transactionalId: id })
      const zombie = await old.begin()
      await zombie.send([{ topic: t, value: 'from-zombie' }])
      const fresh = open().transactionalProducer({ transactionalId: id })
      await fresh.init()
      await expect(zombie.commit()).rejects.toBeInstanceOf(FencedError)
      const ok = await fresh.begin()
      await ok.send([{ topic: t, value: 'from-fresh' }])
      await ok.commit()
      const { state, listener } = recorder()
      await log.consumer({ groupId: unique('group'), topics: [t] }).start(listener)
      await eventually(() => expect(values(state.records)).toEqual(['from-fresh']), patienceMs)
    })

    test('offsets delivered under an older group generation are refused at commit', async () => {
      const { t, ca, stale } = await staleDelivery()
      const transaction = await log.transactionalProducer({ transactionalId: unique('tx') }).begin()
      const commitStale = async () => {
        await transaction.sendOffsets(ca, [stale])
        await transaction.commit()
      }
      await expect(commitStale()).rejects.toBeInstanceOf(FencedError)
      expect(await ca.committed([{ topic: t, partition: 0 }])).toEqual(new Map())
    })

    test('a send and a transaction larger than one broker request (2.5 MiB to one partition) go through whole, in order', async () => {
      log = open()
      const t = await topic(1)
      const big = (i: number) => ({ topic: t, key: 'k', value: `${i}:`.padEnd(64 * 1024, 'x') })
      const positions = await log.producer().send(Array.from({ length: 40 }, (_, i) => big(i)))
      expect(positions.map((p) => p.offset)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)))
      const transaction = await log.transactionalProducer({ transactionalId: unique('tx') }).begin()
      await transaction.send(Array.from({ length: 40 }, (_, i) => big(40 + i)))
      await transaction.commit()
      const read: ConsumedRecord[] = []
      await readToEnd(log, { topic: t, partition: 0 }, 0n, (records) => void read.push(...records))
      expect(read.map((r) => Number(r.value.toString().split(':')[0]))).toEqual(Array.from({ length: 80 }, (_, i) => i))
    })

    test('ensureTopics is idempotent and rejects a partition-count mismatch', async () => {
      log = open()
      const t = unique('topic')
      await log.admin.ensureTopics([{ name: t, partitions: 3, config: { 'cleanup.policy': 'compact' } }])
      await log.admin.ensureTopics([{ name: t, partitions: 3 }])
      expect(await log.admin.describeTopics([t, unique('missing')])).toEqual([{ name: t, partitions: 3 }])
      await expect(log.admin.ensureTopics([{ name: t, partitions: 4 }])).rejects.toBeInstanceOf(TopicMismatchError)
      await expect(log.producer().send([{ topic: t, value: 'x', partition: 3 }])).rejects.toThrow(/out of range/)
    })
  })
}

