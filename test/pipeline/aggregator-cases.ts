import { describe, expect, test } from 'bun:test'
import { events } from '../../schemas/events.ts'
import type { OrderCreated } from '../../schemas/order.ts'
import { eventRecord, jsonOf } from '../../src/events/envelope.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { eventually } from '../harness/eventually.ts'
import { scrape, total } from '../harness/metrics.ts'
import { type PipelineCasesOptions, shopsPerTest } from './cases.ts'

/**
 * An order of one line, 1 unit of `sku`, placed at `createdAt` by one of 24 users (so over every
 * partition); every third is written in version 1 of the event (EUR, no currency field), the
 * others in version 2, in EUR or USD.
 */
function order(n: number, createdAt: string, sku: string): OrderCreated {
  const price = 10 + n / 100
  return { orderId: `rate-${n}`, userId: `user-${n % 24}`, items: [{ sku, quantity: 1, unitPrice: price }], total: price, createdAt, currency: n % 3 === 2 ? 'USD' : 'EUR' }
}
const v1 = (o: OrderCreated) => Number(o.orderId.split('-')[1]) % 3 === 0

const minute = (m: number, s: number) => `2026-01-01T10:0${m}:${String(s).padStart(2, '0')}.000Z`

/** What a window must hold: the orders counted in it, by outcome. */
function expected(orders: OrderCreated[], confirmedSku: string) {
  const confirmed = orders.filter((o) => o.items[0].sku === confirmedSku)
  const cents: Record<string, number> = {}
  for (const o of confirmed) cents[o.currency] = (cents[o.currency] ?? 0) + Math.round(o.total * 100)
  return {
    orders: orders.length,
    confirmed: confirmed.length,
    failed: orders.length - confirmed.length,
    revenue: Object.fromEntries(Object.entries(cents).map(([currency, c]) => [currency, c / 100])),
  }
}

/** The RateAggregator's windows, on the bus of `options`, through `GET /analytics/order-rate`. */
export function runAggregatorCases(options: PipelineCasesOptions): void {
  describe(`orders per minute: ${options.name}`, () => {
    const start = shopsPerTest(options)
    const wait = (check: () => void | Promise<void>) => eventually(check, options.patienceMs)

    test('exact counts per minute by event time across partitions; out of order within grace is counted, after grace it is late; a retried order counts once', async () => {
      const s = await start(['--aggregator-grace-ms=10000', '--aggregator-idle-ms=300'])
      for (const [sku, quantity] of [['SKU-IN', 1000], ['SKU-OUT', 0]] as const) {
        expect((await s.call('PUT', `/stock/${sku}`, { quantity })).status).toBe(202)
        await wait(async () => expect((await s.call('GET', `/stock/${sku}`)).body.available).toBe(quantity))
      }
      // Written as an api process writes them, through the shop's own log (its schema ids), v1 and v2 interleaved.
      const producer = s.shop.log.producer()
      const publish = (orders: OrderCreated[]) =>
        producer.send(
          orders.map((o) => {
            if (!v1(o)) return eventRecord(s.topics.ordersCreated, events.orderCreated, o, 'test')
            const { currency: _, ...older } = o
            return eventRecord(s.topics.ordersCreated, events.orderCreated, older, 'test', { version: 1 })
          }),
        )
      const rate = async () => {
        const answer = await s.call('GET', `/analytics/order-rate?from=${minute(0, 0)}&to=${minute(3, 0)}`)
        expect(answer.status).toBe(200)
        return new Map<string, Record<string, unknown>>(answer.body.windows.map((w: { windowStart: string }) => [w.windowStart, w]))
      }
      const window = (m: number, orders: OrderCreated[], rest: { late: number; final: boolean }) => ({
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
      await wait(async () => expect((await readTopic(s.log, s.topics.reserved)).map((r) => JSON.parse(jsonOf(r.value!)).orderId)).toContain(late.orderId))
      // The orders did spread over every partition, and nothing was dead-lettered.
      const partitions = new Set((await readTopic(s.log, s.topics.ordersCreated)).map((r) => r.partition))
      expect(partitions.size).toBe(3)
      // Each record is in the registry's wire format, under the schema id of its version.
      const created = await readTopic(s.log, s.topics.ordersCreated)
      expect(created.filter((r) => r.value![0] !== 0)).toEqual([])
      const idOf = new Map(created.map((r) => [r.headers.ce_dataschemaversion, r.value!.readUInt32BE(1)]))
      expect([...idOf.keys()].sort()).toEqual(['1', '2'])
      expect(idOf.get('1')).not.toBe(idOf.get('2'))
      expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
      // The compacted topic holds the same, keyed by window start.
      const latest = new Map((await readTopic(s.log, s.topics.orderRate)).map((r) => [r.key, JSON.parse(jsonOf(r.value!))]))
      expect(latest).toEqual(w)
    })

    test('GET /analytics/order-rate refuses a bad range with a problem', async () => {
      const s = await start()
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
