import { expect, test } from 'bun:test'
import { eventually } from '../../../../test/harness/eventually.ts'
import { LogError } from '../../../errors.ts'
import { MemoryLog } from '../../../kafka/memory/index.ts'
import type { GroupConsumer, TransactionalProducer } from '../../../kafka/port.ts'
import { readTopic } from '../../../kafka/read-to-end.ts'
import type { ConsumedRecord } from '../../../kafka/types.ts'
import { createLogger } from '../../../log.ts'
import { Metrics } from '../../../observability/metrics.ts'
import { MemberTransactions } from './member-transactions.ts'
import { transactionalActor } from './transactional-actor.ts'
import type { StepHandler } from './types.ts'

/** A producer whose transactions fail at commit (aborted, retryable) while `failures` lasts. */
function failingCommits(inner: TransactionalProducer, failures: { left: number }): TransactionalProducer {
  return {
    transactionalId: inner.transactionalId,
    init: () => inner.init(),
    close: () => inner.close(),
    async begin() {
      const tx = await inner.begin()
      return {
        ...tx,
        async commit() {
          if (failures.left-- > 0) {
            await tx.abort()
            throw new LogError('commit transaction: the coordinator is not available', { retryable: true })
          }
          return tx.commit()
        },
      }
    },
  }
}

/** The transactional actor of partition 0 of `in`, group `counter`, with `handler`, committing through `producer`. */
function actorOn(log: MemoryLog, consumer: GroupConsumer, producer: TransactionalProducer, handler: StepHandler, waiting: () => number) {
  const metrics = new Metrics()
  const lost: Error[] = []
  const transactions = new MemberTransactions({ producer, consumer: () => consumer, maxRecords: 2_000, logger: createLogger('silent'), group: 'counter', groupKind: 'order', metrics })
  const actor = transactionalActor({
    log,
    logger: createLogger('silent'),
    group: 'counter',
    topics: ['in'],
    groupKind: 'order',
    partition: 0,
    transactions,
    waiting,
    handler,
    deadLetterTopic: 'dlq',
    cachePath: undefined,
    maxRecordAttempts: 3,
    maxCommitAttempts: 3,
    onLost: (error) => lost.push(error),
    fencedGraceMs: 10_000,
    dedupWindowMs: 60_000,
    metrics,
  })
  return { actor, metrics, lost }
}

/** Counts records per key in its store and tells each count on `out`. */
const counter: StepHandler = {
  stores: { counts: 'counts-changelog' },
  handle(record, ctx) {
    const count = (ctx.get<number>('counts', record.key!) ?? 0) + 1
    ctx.put('counts', record.key!, count)
    ctx.send({ topic: 'out', key: record.key, value: `${record.key}:${count}` })
  },
}

test('a batch handled while the one before commits, when that commit fails: both are processed again on the reloaded state, each record counted once, in order', async () => {
  const log = new MemoryLog()
  await log.admin.ensureTopics(['in', 'out', 'counts-changelog', 'dlq'].map((name) => ({ name, partitions: 1 })))
  const producer = log.producer()
  await producer.send(['a', 'b', 'a', 'a', 'b', 'a'].map((key) => ({ topic: 'in', key, value: key })))
  const delivered: ConsumedRecord[][] = []
  const consumer = log.consumer({ groupId: 'counter', topics: ['in'] })
  await consumer.start({ onAssigned() {}, onRevoked() {}, onRecords: (records) => void delivered.push(records) })
  await eventually(() => expect(delivered.flat().length).toBe(6), 5_000)
  const records = delivered.flat()

  const failures = { left: 1 }
  let waiting = 1
  const { actor, metrics, lost } = actorOn(log, consumer, failingCommits(log.transactionalProducer({ transactionalId: 'counter-test' }), failures), counter, () => waiting)
  await actor.preStart!()
  // The first batch is handed over and not waited for: the second is already waiting.
  await actor.receive(records.slice(0, 3))
  expect(failures.left).toBe(1)
  // The second is handled on the first's changes; then the first's commit fails.
  waiting = 0
  await actor.receive(records.slice(3))
  await actor.postStop!()

  expect(failures.left).toBe(-1)
  expect(lost).toEqual([])
  expect((await readTopic(log, 'out')).map((r) => String(r.value))).toEqual(['a:1', 'b:1', 'a:2', 'a:3', 'b:2', 'a:4'])
  expect(await log.admin.committedOffsets('counter')).toEqual([{ topic: 'in', partition: 0, offset: 6n }])
  const text = await metrics.registry.metrics()
  expect(text).toContain('shop_transactions_total{group="order",result="aborted"} 1')
  expect(text).toContain('shop_actor_records_total{group="order"} 6')
  await log.close()
})

/**
 * A memory log with `topics` (one partition each, beside `in` and the counter's), `keys` written to
 * `in`, and the group `counter`'s member that delivered them, with the records it delivered.
 */
async function counted(keys: string[], topics: string[]) {
  const log = new MemoryLog()
  await log.admin.ensureTopics(['in', 'out', 'counts-changelog', 'dlq', ...topics].map((name) => ({ name, partitions: 1 })))
  await log.producer().send(keys.map((key) => ({ topic: 'in', key, value: key })))
  const delivered: ConsumedRecord[] = []
  const consumer = log.consumer({ groupId: 'counter', topics: ['in'] })
  await consumer.start({ onAssigned() {}, onRevoked() {}, onRecords: (records) => void delivered.push(...records) })
  await eventually(() => expect(delivered.length).toBe(keys.length), 5_000)
  return { log, consumer, delivered }
}

test("a handler's table topics get the last value of each key of a batch; its other outputs and the changelog are sent whole, in order", async () => {
  const { log, consumer, delivered } = await counted(['a', 'b', 'a', 'a', 'c', 'b', 'a'], ['table'])
  // The counter, also telling each count on `table`, where a later count of a key replaces the earlier.
  const handler: StepHandler = {
    ...counter,
    tables: ['table'],
    handle(record, ctx) {
      counter.handle(record, ctx)
      const count = ctx.get<number>('counts', record.key!)!
      ctx.send({ topic: 'table', key: record.key, value: `${record.key}:${count}` })
    },
  }
  const { actor, lost } = actorOn(log, consumer, log.transactionalProducer({ transactionalId: 'tables-test' }), handler, () => 0)
  await actor.preStart!()
  // Two batches: each sends the last count of each of its keys on `table`.
  await actor.receive(delivered.slice(0, 4))
  await actor.receive(delivered.slice(4))
  await actor.postStop!()

  expect(lost).toEqual([])
  expect((await readTopic(log, 'out')).map((r) => String(r.value))).toEqual(['a:1', 'b:1', 'a:2', 'a:3', 'c:1', 'b:2', 'a:4'])
  expect((await readTopic(log, 'table')).map((r) => String(r.value))).toEqual(['b:1', 'a:3', 'c:1', 'b:2', 'a:4'])
  // State changes were already one per key per batch.
  expect((await readTopic(log, 'counts-changelog')).map((r) => `${r.key}:${r.value}`)).toEqual(['a:3', 'b:1', 'c:1', 'b:2', 'a:4'])
  expect(await log.admin.committedOffsets('counter')).toEqual([{ topic: 'in', partition: 0, offset: 7n }])
  await log.close()
})

test("a handler's endBatch runs once after each batch's records, on that batch's scratch: what it sends follows their outputs in the transaction", async () => {
  const { log, consumer, delivered } = await counted(['a', 'b', 'a', 'a', 'c'], ['sums'])
  // The counter, also summing the records of each key of a batch and sending the sums at its end.
  const handler: StepHandler = {
    ...counter,
    handle(record, ctx) {
      counter.handle(record, ctx)
      ctx.batch.set(record.key!, ((ctx.batch.get(record.key!) as number | undefined) ?? 0) + 1)
    },
    endBatch(ctx) {
      for (const [key, sum] of ctx.batch) ctx.send({ topic: 'sums', key, value: `${key}+${sum}` })
      ctx.send({ topic: 'out', key: 'end', value: 'end' })
    },
  }
  const { actor, lost } = actorOn(log, consumer, log.transactionalProducer({ transactionalId: 'end-batch-test' }), handler, () => 0)
  await actor.preStart!()
  await actor.receive(delivered.slice(0, 4))
  await actor.receive(delivered.slice(4))
  await actor.postStop!()

  expect(lost).toEqual([])
  // The second batch's scratch starts empty: `a` is not summed again.
  expect((await readTopic(log, 'sums')).map((r) => String(r.value))).toEqual(['a+3', 'b+1', 'c+1'])
  expect((await readTopic(log, 'out')).map((r) => String(r.value))).toEqual(['a:1', 'b:1', 'a:2', 'a:3', 'end', 'c:1', 'end'])
  expect(await log.admin.committedOffsets('counter')).toEqual([{ topic: 'in', partition: 0, offset: 5n }])
  await log.close()
})

test('a batch whose handling fails outside any record (a fault of its endBatch) is never skipped: the batch before commits, nothing of it does, and the partition is given back', async () => {
  const { log, consumer, delivered } = await counted(['a', 'b', 'a', 'a', 'c'], [])
  const fault = new Error('endBatch fault')
  const handler: StepHandler = {
    ...counter,
    endBatch(ctx) {
      if (ctx.batch.get('fail')) throw fault
    },
    handle(record, ctx) {
      counter.handle(record, ctx)
      if (record.key === 'c') ctx.batch.set('fail', true)
    },
  }
  let waiting = 1
  const { actor, lost } = actorOn(log, consumer, log.transactionalProducer({ transactionalId: 'fault-test' }), handler, () => waiting)
  await actor.preStart!()
  await actor.receive(delivered.slice(0, 4))
  waiting = 0
  // Handled while the first batch is in flight; it fails without a record to blame.
  await actor.receive(delivered.slice(4))
  expect(lost).toEqual([fault])
  // The actor takes nothing more: its partition's next owner reads from the committed offset.
  await actor.receive(delivered.slice(4))
  await actor.postStop!()

  expect((await readTopic(log, 'out')).map((r) => String(r.value))).toEqual(['a:1', 'b:1', 'a:2', 'a:3'])
  expect(await log.admin.committedOffsets('counter')).toEqual([{ topic: 'in', partition: 0, offset: 4n }])
  await log.close()
})
