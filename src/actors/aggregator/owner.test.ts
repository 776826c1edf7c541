import { expect, test } from 'bun:test'
import { events } from '../../../schemas/events.ts'
import type { OrderRateWindow, WindowPartial } from '../../../schemas/rate.ts'
import { decodeEvent, encodeEvent } from '../../events/envelope.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import { createLogger } from '../../log.ts'
import { Metrics } from '../../observability/metrics.ts'
import { topicNames } from '../../topology.ts'
import type { StepContext } from '../runtime/transactional/types.ts'
import { windowOwnerHandler } from './owner.ts'
import { windowKey } from './windows.ts'

const topics = topicNames('')
const at = (time: string) => Date.parse(`2026-01-01T10:${time}.000Z`)

/**
 * One window owner over three source partitions, fed partials one at a time as committed steps;
 * `windows` is the latest record of each window it wrote.
 */
function owner() {
  const handler = windowOwnerHandler({ topics, graceMs: 10_000, sources: 3, metrics: new Metrics(), logger: createLogger('silent') })
  const state = new Map<string, unknown>()
  const windows = new Map<string, OrderRateWindow>()
  const feed = (partial: Omit<WindowPartial, 'windowStart' | 'orders' | 'confirmed' | 'failed' | 'currency' | 'revenueCents'> & Partial<Pick<WindowPartial, 'orders' | 'confirmed' | 'failed'>>) => {
    const time = partial.eventTime
    const payload: WindowPartial = { orders: 0, confirmed: 0, failed: 0, currency: 'EUR', revenueCents: 0, ...partial, windowStart: windowKey(Math.floor(time / 60_000) * 60_000) }
    const { value, headers } = encodeEvent(events.windowPartial, payload, 'test')
    const record: ConsumedRecord = { topic: topics.aggregatorPartials, partition: 0, offset: 0n, key: payload.windowStart, value: Buffer.from(value), headers, timestamp: Date.now(), generation: 1 }
    const ctx: StepContext = {
      partition: 0,
      send: (r) => {
        const window = decodeEvent(events.orderRate, { ...record, topic: r.topic, key: r.key, value: Buffer.from(r.value!), headers: r.headers ?? {} })
        windows.set(window.windowStart, window)
      },
      get: <V>(_: string, key: string) => state.get(key) as V | undefined,
      put: (_, key, value) => void state.set(key, value),
      deadLetter: (error) => {
        throw error
      },
      afterCommit: (effect) => effect(),
      batch: new Map(),
    }
    handler.handle(record, ctx)
  }
  const final = (start: string) => windows.get(`2026-01-01T10:${start}:00.000Z`)?.final
  return { feed, windows, final }
}

test('a window closes only when every source partition has passed it: a stopped source holds it open, an idle one does not', () => {
  const { feed, windows, final } = owner()
  feed({ kind: 'count', source: 0, eventTime: at('00:20'), orders: 1 })
  feed({ kind: 'count', source: 1, eventTime: at('00:40'), orders: 1 })
  feed({ kind: 'count', source: 2, eventTime: at('00:50'), orders: 1 })
  // Sources 0 and 2 go far past the window's close (10:01:10); source 1 stopped at 10:00:40.
  feed({ kind: 'tick', source: 0, eventTime: at('03:00') })
  feed({ kind: 'tick', source: 2, eventTime: at('03:00') })
  expect(final('00')).toBe(false)
  // Source 1 comes back with a record 2 minutes behind the others: still counted, not late.
  feed({ kind: 'count', source: 1, eventTime: at('00:45'), orders: 1 })
  expect(windows.get('2026-01-01T10:00:00.000Z')).toMatchObject({ orders: 4, late: 0, final: false })
  // Once source 1 reports idle, it no longer holds the window: the others' time closes it.
  feed({ kind: 'idle', source: 1, eventTime: at('00:45') })
  expect(windows.get('2026-01-01T10:00:00.000Z')).toMatchObject({ orders: 4, late: 0, final: true })
  // A record for it now is late: counted as such, never added.
  feed({ kind: 'count', source: 1, eventTime: at('00:59'), orders: 1 })
  expect(windows.get('2026-01-01T10:00:00.000Z')).toMatchObject({ orders: 4, late: 1, final: true })
  // A partial sums a batch of its source's records: each of them is late.
  feed({ kind: 'count', source: 2, eventTime: at('00:30'), orders: 2, failed: 1 })
  expect(windows.get('2026-01-01T10:00:00.000Z')).toMatchObject({ orders: 4, failed: 0, late: 4, final: true })
})

test('a source never heard from holds every window open; when all are idle, the latest time among them closes what it passes', () => {
  const { feed, final } = owner()
  feed({ kind: 'count', source: 0, eventTime: at('00:20'), orders: 1 })
  feed({ kind: 'tick', source: 1, eventTime: at('02:00') })
  expect(final('00')).toBe(false)
  feed({ kind: 'idle', source: 2, eventTime: 0 })
  expect(final('00')).toBe(false)
  feed({ kind: 'idle', source: 0, eventTime: at('00:20') })
  expect(final('00')).toBe(true)
  // Source 1 at 10:02:00 is the only active one: the watermark never moves back.
  feed({ kind: 'count', source: 0, eventTime: at('01:30'), orders: 1 })
  expect(final('01')).toBe(false)
  feed({ kind: 'idle', source: 1, eventTime: at('02:00') })
  expect(final('01')).toBe(false)
  feed({ kind: 'idle', source: 0, eventTime: at('01:30') })
  // Every source idle: the watermark is the latest of them, 10:02:00, short of 10:02:10.
  expect(final('01')).toBe(false)
  feed({ kind: 'tick', source: 2, eventTime: at('02:10') })
  expect(final('01')).toBe(true)
})
