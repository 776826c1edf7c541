import { expect, test } from 'bun:test'
import { events } from '../../../schemas/events.ts'
import type { WindowPartial } from '../../../schemas/rate.ts'
import { decodeEvent, encodeEvent } from '../../events/envelope.ts'
import { InvalidEventError } from '../../errors.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import { topicNames } from '../../topology.ts'
import type { StepContext } from '../runtime/transactional/types.ts'
import { partialsHandler } from './partials.ts'

const topics = topicNames('')
const at = (time: string) => `2026-01-01T10:${time}Z`
const lines = [{ sku: 'SKU-1', quantity: 1, unitPrice: 9 }]

const created = (orderId: string, createdAt: string): ConsumedRecord => record(topics.ordersCreated, encodeEvent(events.orderCreated, { orderId, userId: 'ada', items: lines, total: 9, createdAt, currency: 'EUR' }, 'test'))
const reserved = (orderId: string): ConsumedRecord => record(topics.reserved, encodeEvent(events.orderReserved, { orderId, userId: 'ada', lines, total: 9 }, 'test'))
const failed = (orderId: string): ConsumedRecord => record(topics.failed, encodeEvent(events.orderFailed, { orderId, userId: 'ada', lines, total: 9, shortLines: [] }, 'test'))
function record(topic: string, { value, headers }: { value: string; headers: Record<string, string> }): ConsumedRecord {
  return { topic, partition: 1, offset: 0n, key: 'ada', value: Buffer.from(value), headers, timestamp: 0, generation: 1 }
}

/**
 * The partials handler of source partition 1 (of 2), its state committed after each batch. `batch`
 * handles records as one batch and gives what it sent, in order, as `kind window [owner] counts`;
 * a record whose step throws is left out of the batch, as the runtime dead-letters it.
 */
function source() {
  const handler = partialsHandler(topics, 2, 60_000)
  const state = new Map<string, unknown>()
  const batch = (records: ConsumedRecord[]) => {
    const sent: string[] = []
    const ctx: StepContext = {
      partition: 1,
      send: (r) => {
        const p: WindowPartial = decodeEvent(events.windowPartial, { ...records[0], topic: r.topic, key: r.key, value: Buffer.from(r.value!), headers: r.headers ?? {} })
        const window = p.windowStart.slice(11, 16)
        sent.push(p.kind === 'count' ? `count ${window} o${p.orders} c${p.confirmed} f${p.failed} ${p.revenueCents}${p.currency} @${new Date(p.eventTime).toISOString().slice(14, 23)}` : `${p.kind} ${window} ->${r.partition} @${new Date(p.eventTime).toISOString().slice(14, 23)}`)
      },
      get: <V>(_: string, key: string) => state.get(key) as V | undefined,
      put: (_, key, value) => void (value === undefined ? state.delete(key) : state.set(key, value)),
      deadLetter: (error) => {
        throw error
      },
      afterCommit: () => {},
      batch: new Map(),
    }
    for (const r of records) {
      try {
        handler.handle(r, ctx)
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error
      }
    }
    handler.endBatch!(ctx)
    return sent
  }
  return { batch }
}

test('a batch writes its counts summed per window, each sum before the tick that follows it, the rest at its end', () => {
  const { batch } = source()
  expect(
    batch([
      created('o1', at('00:05.100')),
      created('o2', at('00:05.600')),
      reserved('o1'),
      failed('o2'),
      // Not a time: refused before it counts anything.
      created('bad', 'yesterday'),
      created('o3', at('01:10.000')),
      reserved('o3'),
    ]),
  ).toEqual([
    'count 10:00 o1 c0 f0 0EUR @00:05.100',
    'tick 10:00 ->0 @00:05.100',
    'tick 10:00 ->1 @00:05.100',
    'count 10:00 o1 c1 f1 900EUR @00:05.600',
    'count 10:01 o1 c0 f0 0EUR @01:10.000',
    'tick 10:01 ->0 @01:10.000',
    'tick 10:01 ->1 @01:10.000',
    'count 10:01 o0 c1 f0 900EUR @01:10.000',
  ])
  // The next batch starts from nothing summed; an order counted before counts no more.
  expect(batch([created('o1', at('00:05.100')), created('o4', at('01:20.000')), failed('o4')])).toEqual([
    'count 10:01 o1 c0 f0 0EUR @01:20.000',
    'tick 10:01 ->0 @01:20.000',
    'tick 10:01 ->1 @01:20.000',
    'count 10:01 o0 c0 f1 0EUR @01:20.000',
  ])
})

test('an outcome read before its order is counted with the order, in one sum', () => {
  const { batch } = source()
  expect(batch([reserved('o1')])).toEqual([])
  expect(batch([created('o1', at('00:30.000')), created('o2', at('00:30.500'))])).toEqual([
    'count 10:00 o1 c1 f0 900EUR @00:30.000',
    'tick 10:00 ->0 @00:30.000',
    'tick 10:00 ->1 @00:30.000',
    'count 10:00 o1 c0 f0 0EUR @00:30.500',
  ])
})
