import { afterEach, describe, expect, test } from 'bun:test'
import { events } from '../../../schemas/events.ts'
import type { OrderStatus } from '../../../schemas/lifecycle.ts'
import { eventually } from '../../../test/harness/eventually.ts'
import { eventRecord } from '../../events/envelope.ts'
import { MemoryLog } from '../../kafka/memory/index.ts'
import { createLogger } from '../../log.ts'
import { OrderFeed } from './feed.ts'
import { LiveStream } from './live-stream.ts'

const logger = createLogger('silent')
const topic = 'order.status'
let log: MemoryLog
let feed: OrderFeed | undefined

afterEach(async () => {
  await feed?.stop()
  await log?.close()
})

/** A step of `orderId`'s life at `at` (ms since the epoch), placed at `placedAt`. */
const step = (orderId: string, status: OrderStatus, at: number, placedAt: number) =>
  eventRecord(topic, events.orderStatus, {
    orderId,
    userId: `user-${orderId}`,
    status,
    at: new Date(at).toISOString(),
    placedAt: new Date(placedAt).toISOString(),
    ...(status === 'pending' ? { order: { items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 2 }], total: 2, currency: 'EUR', createdAt: new Date(placedAt).toISOString() } } : {}),
  }, 'test')

async function startFeed(keep = 25) {
  log = new MemoryLog()
  await log.admin.ensureTopics([{ name: topic, partitions: 1 }])
  feed = new OrderFeed({ log, logger, topic, keep, windowSeconds: 10 })
  await feed.start()
  return feed
}

describe('the console\'s order feed', () => {
  test('counts accepted and completed orders per second of their own time, with the latency of those completed', async () => {
    const feed = await startFeed()
    const now = Math.floor(Date.now() / 1000) * 1000
    const second = now - 3_000
    const records = [
      // Four orders accepted in one second; three completed two seconds later, 100, 200 and 900 ms after acceptance.
      ...['a', 'b', 'c', 'd'].map((id) => step(id, 'pending', second + 10, second + 10)),
      step('a', 'shipped', second + 2_110, second + 10),
      step('b', 'out_of_stock', second + 2_210, second + 10),
      step('c', 'payment_failed', second + 2_910, second + 10),
      step('d', 'reserved', second + 2_500, second + 10),
    ]
    await log.producer().send(records)
    await eventually(() => expect(feed.orders().map((o) => [o.orderId, o.status])).toEqual([['d', 'reserved'], ['c', 'payment_failed'], ['b', 'out_of_stock'], ['a', 'shipped']]), 2_000)
    const seconds = feed.seconds(now + 1_000)
    expect(seconds).toHaveLength(10)
    expect(seconds.find((s) => s.at === second)).toEqual({ at: second, accepted: 4, completed: 0, p50Ms: null, p99Ms: null })
    expect(seconds.find((s) => s.at === second + 2_000)).toEqual({ at: second + 2_000, accepted: 0, completed: 3, p50Ms: 2_200, p99Ms: 2_900 })
    expect(seconds.reduce((sum, s) => sum + s.accepted, 0)).toBe(4)
    expect(feed.outcomes(now + 1_000)).toEqual({ shipped: 1, out_of_stock: 1, payment_failed: 1 })
    expect(feed.orders()[3]).toEqual({ orderId: 'a', userId: 'user-a', status: 'shipped', total: 2, currency: 'EUR', placedAt: new Date(second + 10).toISOString(), at: new Date(second + 2_110).toISOString() })
  })

  test('the list holds the newest orders by acceptance; a step of an order it no longer holds is left out', async () => {
    const feed = await startFeed(3)
    const t = Date.now()
    await log.producer().send(['o1', 'o2', 'o3', 'o4'].map((id, i) => (step(id, 'pending', t + i, t + i))))
    await log.producer().send([{ ...step('o1', 'shipped', t + 10, t) }, { ...step('o3', 'paid', t + 11, t + 2) }])
    await eventually(() => expect(feed.orders().map((o) => [o.orderId, o.status])).toEqual([['o4', 'pending'], ['o3', 'paid'], ['o2', 'pending']]), 2_000)
  })

  test('reads back 200 records per partition at start, so it opens with what just happened', async () => {
    log = new MemoryLog()
    await log.admin.ensureTopics([{ name: topic, partitions: 1 }])
    const t = Date.now()
    await log.producer().send(Array.from({ length: 250 }, (_, i) => (step(`o${i}`, 'pending', t, t))))
    feed = new OrderFeed({ log, logger, topic })
    await feed.start()
    expect(feed.orders().map((o) => o.orderId)).toEqual(Array.from({ length: 25 }, (_, i) => `o${249 - i}`))
    expect(feed.seconds(t + 1_000).reduce((sum, s) => sum + s.accepted, 0)).toBe(200)
  })
})

describe('the console\'s live stream', () => {
  test('sends the document now and each tick to every subscriber, and ends every stream on close', async () => {
    let n = 0
    const live = new LiveStream(async () => JSON.stringify({ n: ++n }), 20)
    const readers = [live.subscribe(), live.subscribe()].map((response) => {
      expect(response.headers.get('content-type')).toBe('text/event-stream')
      return response.body!.pipeThrough(new TextDecoderStream()).getReader()
    })
    const received = await Promise.all(readers.map(async (reader) => {
      let text = ''
      while ((text.match(/event: state/g) ?? []).length < 3) text += (await reader.read()).value
      return text
    }))
    for (const text of received) {
      expect(text).toStartWith('retry: 2000\n\n')
      expect(text).toMatch(/event: state\ndata: \{"n":\d+\}\n\n/)
    }
    expect(live.subscribers).toBe(2)
    live.close()
    for (const reader of readers) {
      let done = false
      while (!done) done = (await reader.read()).done
    }
    expect(live.subscribers).toBe(0)
    // After close, a subscriber gets an empty stream at once (a stopping process holds no request open).
    expect(await live.subscribe().text()).toBe('')
  })
})
