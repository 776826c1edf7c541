import { describe, expect, test } from 'bun:test'
import { LogError } from '../../../errors.ts'
import type { GroupConsumer, Transaction, TransactionalProducer } from '../../../kafka/port.ts'
import type { ConsumedRecord, ProduceRecord, RecordPosition } from '../../../kafka/types.ts'
import { createLogger } from '../../../log.ts'
import { Metrics } from '../../../observability/metrics.ts'
import { sleep } from '../../../time.ts'
import { MemberTransactions } from './member-transactions.ts'

/** What one transaction of the fake producer was given, and how it ended. */
interface Seen {
  outputs: string[]
  offsets: string[]
  ended?: 'committed' | 'aborted'
}

/**
 * A producer that records its transactions, and the order in which their calls started and ended
 * (`events`); its commit answers each output's position as `out/<n>` (n counting every output ever
 * committed), and fails while `failing` is set; sends fail while `sendFailing` is set.
 */
function fakeProducer() {
  const seen: Seen[] = []
  let offset = 0n
  let open = 0
  let mostOpen = 0
  const events: string[] = []
  const state = { failing: undefined as Error | undefined, sendFailing: undefined as Error | undefined }
  const producer: TransactionalProducer = {
    transactionalId: 'shop-order-test',
    init: async () => {},
    close: async () => {},
    async begin(): Promise<Transaction> {
      const one: Seen = { outputs: [], offsets: [] }
      seen.push(one)
      mostOpen = Math.max(mostOpen, ++open)
      let sent: ProduceRecord[] = []
      return {
        async send(records) {
          events.push('send')
          await sleep(1)
          if (state.sendFailing) {
            events.push('send failed')
            throw state.sendFailing
          }
          events.push('sent')
          sent = [...sent, ...records]
          one.outputs.push(...records.map((r) => String(r.value)))
        },
        async sendOffsets(_consumer, records) {
          events.push('offsets')
          await sleep(5)
          events.push('offsets added')
          one.offsets.push(...records.map((r) => `${r.partition}@${r.offset}`))
        },
        async commit(): Promise<RecordPosition[]> {
          events.push('commit')
          await sleep(5)
          open--
          if (state.failing) throw state.failing
          one.ended = 'committed'
          return sent.map(() => ({ topic: 'out', partition: 0, offset: offset++ }))
        },
        async abort() {
          events.push('abort')
          one.ended = 'aborted'
        },
      }
    },
  }
  return { producer, seen, state, events, mostOpen: () => mostOpen }
}

const output = (value: string): ProduceRecord => ({ topic: 'out', value })
const input = (partition: number, offset: number) => ({ topic: 'in', partition, offset: BigInt(offset) }) as ConsumedRecord
const inputs = (partition: number, n: number) => Array.from({ length: n }, (_, i) => input(partition, i))

function member(maxRecords = 2_000, intervalMs?: number) {
  const fake = fakeProducer()
  const metrics = new Metrics()
  const transactions = new MemberTransactions({
    producer: fake.producer,
    consumer: () => ({}) as GroupConsumer,
    maxRecords,
    intervalMs,
    logger: createLogger('silent'),
    group: 'shop-order',
    groupKind: 'order',
    metrics,
  })
  return { ...fake, transactions, metrics }
}

describe('MemberTransactions', () => {
  test('batches handed over together commit in one transaction; each learns the positions of its own outputs, in order', async () => {
    const { transactions, ...fake } = member()
    const committed = await Promise.all([
      transactions.commit([output('a1'), output('a2')], [input(0, 7)]),
      transactions.commit([], [input(1, 3)]),
      transactions.commit([output('c1')], [input(2, 0), input(2, 1)]),
    ])
    expect(fake.seen).toEqual([{ outputs: ['a1', 'a2', 'c1'], offsets: ['0@7', '1@3', '2@0', '2@1'], ended: 'committed' }])
    expect(committed.map((positions) => positions.map((p) => p.offset))).toEqual([[0n, 1n], [], [2n]])
  })

  test('a batch handed over while a transaction is in flight commits in the next one; one transaction at a time', async () => {
    const { transactions, ...fake } = member()
    const first = transactions.commit([output('a')], [input(0, 0)])
    await sleep(3) // the first transaction is sending
    const later = [transactions.commit([output('b')], [input(1, 0)]), transactions.commit([output('c')], [input(2, 0)])]
    expect((await Promise.all([first, ...later])).map((positions) => positions.map((p) => p.offset))).toEqual([[0n], [1n], [2n]])
    expect(fake.seen.map((t) => t.outputs)).toEqual([['a'], ['b', 'c']])
    expect(fake.mostOpen()).toBe(1)
  })

  test('with intervalMs, a transaction starts at least that long after the one before; the batches ready meanwhile commit together', async () => {
    const { transactions, ...fake } = member(2_000, 150)
    const begins: number[] = []
    const begin = fake.producer.begin.bind(fake.producer)
    fake.producer.begin = () => (begins.push(performance.now()), begin())
    await transactions.commit([output('a')], [input(0, 0)])
    // Three batches handed over one after another while the member waits out its interval.
    const later = [transactions.commit([output('b')], [input(1, 0)])]
    await sleep(20)
    later.push(transactions.commit([output('c')], [input(2, 0)]))
    await sleep(20)
    later.push(transactions.commit([output('d')], [input(0, 1)]))
    await Promise.all(later)
    expect(fake.seen.map((t) => [t.outputs, t.ended])).toEqual([
      [['a'], 'committed'],
      [['b', 'c', 'd'], 'committed'],
    ])
    // A timer may fire a little early; the interval, not a batch, decided when the second began.
    expect(begins[1] - begins[0]).toBeGreaterThanOrEqual(140)
  })

  test('a transaction takes waiting batches up to maxRecords inputs; a larger batch still commits, alone', async () => {
    const { transactions, ...fake } = member(500)
    await Promise.all([
      transactions.commit([output('a')], inputs(0, 200)),
      transactions.commit([output('b')], inputs(1, 200)),
      transactions.commit([output('c')], inputs(2, 200)),
      transactions.commit([output('d')], inputs(3, 600)),
      transactions.commit([output('e')], inputs(4, 1)),
    ])
    expect(fake.seen.map((t) => [t.outputs, t.offsets.length])).toEqual([
      [['a', 'b'], 400],
      [['c'], 200],
      [['d'], 600],
      [['e'], 1],
    ])
  })

  test('a failed transaction is aborted and fails every batch in it with its error; the next one commits; the metrics count each', async () => {
    const { transactions, state, metrics, ...fake } = member()
    state.failing = new LogError('commit transaction: the coordinator is loading')
    const failed = await Promise.allSettled([transactions.commit([output('a')], [input(0, 0)]), transactions.commit([output('b')], [input(1, 0)])])
    expect(failed.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual([state.failing.message, state.failing.message])
    state.failing = undefined
    await transactions.commit([output('a')], [input(0, 0)])
    expect(fake.seen.map((t) => [t.outputs, t.ended])).toEqual([
      [['a', 'b'], 'aborted'],
      [['a'], 'committed'],
    ])
    const text = await metrics.registry.metrics()
    expect(text).toContain('shop_transactions_total{group="order",result="aborted"} 1')
    expect(text).toContain('shop_transactions_total{group="order",result="committed"} 1')
    expect(text).toContain('shop_transaction_batches_sum{group="order"} 1')
  })

  test("a transaction's records and offsets go side by side; when one fails, the abort waits for the other to settle", async () => {
    const { transactions, state, ...fake } = member()
    await transactions.commit([output('a')], [input(0, 0)])
    expect(fake.events).toEqual(['send', 'offsets', 'sent', 'offsets added', 'commit'])
    fake.events.length = 0
    state.sendFailing = new LogError('transactional produce: NOT_LEADER_OR_FOLLOWER')
    await expect(transactions.commit([output('b')], [input(0, 1)])).rejects.toThrow(state.sendFailing.message)
    expect(fake.events).toEqual(['send', 'offsets', 'send failed', 'offsets added', 'abort'])
    expect(fake.seen.map((t) => t.ended)).toEqual(['committed', 'aborted'])
  })
})
