import { afterEach, describe, expect, test } from 'bun:test'
import { events } from '../../schemas/events.ts'
import type { OrderCreatedV1 } from '../../schemas/order.ts'
import { eventRecord } from '../../src/events/envelope.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { eventually } from '../harness/eventually.ts'
import { scrape, total } from '../harness/metrics.ts'
import { type PipelineCasesOptions, startShop } from './cases.ts'

/** An order of one line, 1 unit of `sku`, placed at `createdAt` by one of 24 users (so over every partition). */
function order(n: number, createdAt: string, sku: string): OrderCreatedV1 {
  const price = 10 + n / 100
  return { orderId: `rate-${n}`, userId: `user-${n % 24}`, items: [{ sku, quantity: 1, unitPrice: price }], total: price, createdAt }
}

const minute = (m: number, s: number) => `2026-01-01T10:0${m}:${String(s).padStart(2, '0')}.000Z`

/** What a window must hold: the orders counted in it, by outcome. */
function expected(orders: OrderCreatedV1[], confirmedSku: string) {
  const confirmed = orders.filter((o) => o.items[0].sku === confirmedSku)
  return {
    orders: orders.length,
    confirmed: confirmed.length,
    failed: orders.length - confirmed.length,
    revenue: confirmed.reduce((sum, o) => sum + Math.round(o.total * 100), 0) / 100,
  }
}

/** The RateAggregator's windows, on the bus of `options`, through `GET /analytics/order-rate`. */
export function runAggregatorCases(options: PipelineCasesOptions): void {
  describe(`orders per minute: ${options.name}`, () => {
    const running: Array<Awaited<ReturnType<typeof startShop>>> = []
    afterEach(async () => {
      for (const s of running.splice(0)) {
        await s.shop.stop()
        await s.log.close()
      }
    })
    const wait = (check: () => void | Promise<void>) => eventually(check, options.patienceMs)

    test('exact counts per minute by event time across partitions; out of order within grace is counted, after grace it is late; a retried order counts once', async () => {
      const s = await startShop(options, ['--aggregator-grace-ms=10000'])
      running.push(s)
      for (const [sku, quantity] of [['SKU-IN', 1000], ['SKU-OUT', 0]] as const) {
        expect((await s.call('PUT', `/stock/${sku}`, { quantity })).status).toBe(202)
        await wait(async () => expect((await s.call('GET', `/stock/${sku}`)).body.available).toBe(quantity))
      }
      const producer = s.log.producer()
      const publish = (orders: OrderCreatedV1[]) => producer.send(orders.map((o) => eventRecord(s.topics.ordersCreated, events.orderCreated, o, 'test')))
      const rate = async () => {
        const answer = await s.call('GET', `/analytics/order-rate?from=${minute(0, 0)}&to=${minute(3, 0)}`)
        expect(answer.status).toBe(200)
        return new Map<string, Record<string, unknown>>(answer.body.windows.map((w: { windowStart: string }) => [w.windowStart, w]))
      }
      const window = (m: number, orders: OrderCreatedV1[], rest: { late: number; final: boolean }) => ({
        windowStart: minute(m, 0),
        windowEnd: m === 2 ? '2026-01-01T10:03:00.000Z' : minute(m + 1, 0),
        ...expected(orders, 'SKU-IN'),
        ...rest,
      })
      const sku = (n: number) => (n % 4 === 0 ? 'SKU-OUT' : 'SKU-IN')
      let n = 0
      const many = (m: number, seconds: number[]) => seconds.map((sec) => order(++n, minute(m, sec), sku(n)))

      // A: minutes 0 and 1, stream time reaching 10:01:05 (window 0 closes at 10:01:10).
      const a0 = many(0, [1, 5, 9, 14, 20, 26, 33, 41, 47, 50])
      const a1 = many(1, [0, 2, 3, 5])
      await publish([...a0, ...a1])
      await wait(async () => {
        const w = await rate()
        expect(w.get(minute(0, 0))).toEqual(window(0, a0, { late: 0, final: false }))
        expect(w.get(minute(1, 0))).toEqual(window(1, a1, { late: 0, final: false }))
      })
      // B: out of order by 7 s, within the grace period: counted in window 0; published twice, counted once.
      const b = many(0, [58])
      await publish([...b, ...b])
      await wait(async () => expect((await rate()).get(minute(0, 0))).toEqual(window(0, [...a0, ...b], { late: 0, final: false })))
      // C: minute 1 to its end and minute 2 to 10:02:05: window 0 is final, window 1 still open.
      const c1 = many(1, [12, 20, 31, 44, 59])
      const c2 = many(2, [0, 3, 5])
      await publish([...c1, ...c2])
      await wait(async () => {
        const w = await rate()
        expect(w.get(minute(0, 0))).toEqual(window(0, [...a0, ...b], { late: 0, final: true }))
        expect(w.get(minute(1, 0))).toEqual(window(1, [...a1, ...c1], { late: 0, final: false }))
        expect(w.get(minute(2, 0))).toEqual(window(2, c2, { late: 0, final: false }))
      })
      // One order at 10:02:30 closes window 1.
      const d = many(2, [30])
      await publish(d)
      await wait(async () => expect((await rate()).get(minute(1, 0))).toEqual(window(1, [...a1, ...c1], { late: 0, final: true })))
      // Late: an order of window 0, 80 s behind stream time. It and its outcome are counted as
      // late (2), the counts stay as they were.
      const late = order(++n, minute(0, 30), 'SKU-IN')
      await publish([late])
      await wait(async () => expect((await rate()).get(minute(0, 0))).toEqual(window(0, [...a0, ...b], { late: 2, final: true })))
      const w = await rate()
      expect([...w.keys()]).toEqual([minute(0, 0), minute(1, 0), minute(2, 0)])
      expect(w.get(minute(2, 0))).toEqual(window(2, [...c2, ...d], { late: 0, final: false }))
      expect(total(await scrape(s.shop.url), 'shop_aggregator_late_records_total')).toBe(2)
      // The late order itself went through the pipeline like any other.
      await wait(async () => expect((await readTopic(s.log, s.topics.reserved)).map((r) => JSON.parse(String(r.value)).orderId)).toContain(late.orderId))
      // The orders did spread over every partition, and nothing was dead-lettered.
      const partitions = new Set((await readTopic(s.log, s.topics.ordersCreated)).map((r) => r.partition))
      expect(partitions.size).toBe(3)
      expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
      // The compacted topic holds the same, keyed by window start.
      const latest = new Map((await readTopic(s.log, s.topics.orderRate)).map((r) => [r.key, JSON.parse(String(r.value))]))
      expect(latest).toEqual(w)
    })

    test('GET /analytics/order-rate refuses a bad range with a problem', async () => {
      const s = await startShop(options)
      running.push(s)
      const refused = {
        'from=yesterday': 'query:from',
        [`from=${minute(1, 0)}&to=${minute(0, 0)}`]: 'query:from',
        'from=2026-01-01T00:00:00Z&to=2026-01-09T00:00:00Z': 'query:to',
        'limit=5': 'query:limit',
      }
      for (const [query, path] of Object.entries(refused)) {
        const answer = await s.call('GET', `/analytics/order-rate?${query}`)
        expect(answer.status).toBe(400)
        expect(answer.body).toMatchObject({ status: 400, type: 'urn:shop:error:SHOP_BAD_REQUEST', errors: [expect.objectContaining({ path })] })
      }
      const empty = await s.call('GET', '/analytics/order-rate')
      expect(empty.status).toBe(200)
      expect(empty.body.windows).toEqual([])
    })
  })
}
