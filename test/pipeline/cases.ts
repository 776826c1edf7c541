import { afterEach, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { Shop } from '../../src/app.ts'
import { loadConfig } from '../../src/config/load.ts'
import { expectDocumented } from '../harness/openapi.ts'
import { scrape, total } from '../harness/metrics.ts'
import { eventually } from '../harness/eventually.ts'
import type { Log } from '../../src/kafka/port.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { createLogger } from '../../src/log.ts'
import { auditedTopics, topicNames } from '../../src/topology.ts'
import { orderIdFor } from '../../src/api/orders/identity.ts'
import { encodeEvent, eventRecord, jsonOf } from '../../src/events/envelope.ts'
import { deadLetterRecord } from '../../src/actors/runtime/transactional/dead-letter.ts'
import { partitionForKey } from '../../src/kafka/partitioner.ts'
import { events } from '../../schemas/events.ts'
import type { OrderStatus } from '../../schemas/lifecycle.ts'
import { sleep } from '../../src/time.ts'

export interface PipelineCasesOptions {
  name: string
  /** Flags selecting the bus (e.g. `--brokers=...`); empty for the memory bus. */
  busFlags: string[]
  /** A client of the bus; given `sibling`, one of the same bus (another process of one deployment). */
  createLog: (sibling?: Log) => Log
  patienceMs: number
}

export interface Notification {
  event: string
  orderId: string
  userId: string
  status: OrderStatus
  message: string
}

/**
 * One shop process with every role, in this test process, on its own topics; console notifications
 * captured. With `join`, another process of that shop's deployment (its topics, its bus).
 */
export async function startShop(options: PipelineCasesOptions, extraFlags: string[] = [], join?: { prefix: string; log: Log }) {
  const prefix = join?.prefix ?? `test-${randomUUID().slice(0, 8)}.`
  const dataDir = `/tmp/shop-test-${prefix}${join ? `-${randomUUID().slice(0, 8)}` : ''}`
  const { config } = loadConfig(['--http-port=0', '--partitions=3', `--topic-prefix=${prefix}`, `--data-dir=${dataDir}`, ...options.busFlags, ...extraFlags], {})
  const notifications: Notification[] = []
  const log = options.createLog(join?.log)
  const shop = await Shop.start({
    config,
    log,
    logger: createLogger('silent'),
    onEscalate: (error) => {
      throw error
    },
    write: (line) => notifications.push(JSON.parse(line)),
  })
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${shop.url}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    })
    const answer = { status: response.status, headers: response.headers, body: (await response.json()) as any }
    // Every answer of every case is checked against the OpenAPI document.
    expectDocumented(method, path, answer)
    return answer
  }
  await eventually(() => expect(shop.readiness().every((r) => r.ready)).toBe(true), options.patienceMs)
  return { shop, log, call, notifications, topics: topicNames(prefix), prefix }
}

/** The notifications of one status, in the order they were printed. */
export const told = (s: { notifications: Notification[] }, status: OrderStatus) => s.notifications.filter((n) => n.status === status)

/** Starts shops for the tests of a describe block; each is stopped, and its log closed, after its test. */
export function shopsPerTest(options: PipelineCasesOptions) {
  const running: Array<Awaited<ReturnType<typeof startShop>>> = []
  afterEach(async () => {
    for (const s of running.splice(0)) {
      await s.shop.stop()
      await s.log.close()
    }
  })
  return async (flags: string[] = [], join?: { prefix: string; log: Log }) => {
    const s = await startShop(options, flags, join)
    running.push(s)
    return s
  }
}

export function runPipelineCases(options: PipelineCasesOptions): void {
  describe(`order pipeline: ${options.name}`, () => {
    const start = shopsPerTest(options)
    const wait = (check: () => void | Promise<void>) => eventually(check, options.patienceMs)

    async function setStock(s: Awaited<ReturnType<typeof startShop>>, sku: string, quantity: number) {
      expect((await s.call('PUT', `/stock/${sku}`, { quantity })).status).toBe(202)
      await wait(async () => expect((await s.call('GET', `/stock/${sku}`)).body.available).toBe(quantity))
    }

    test('an order with stock is confirmed, once, and its units are reserved', async () => {
      const s = await start()
      await setStock(s, 'SKU-A', 10)
      const placed = await s.call('POST', '/orders', { userId: 'ada', items: [{ sku: 'SKU-A', quantity: 3, unitPrice: 2.5 }], total: 7.5 })
      expect(placed.status).toBe(202)
      expect(placed.body).toEqual({ orderId: expect.any(String), status: 'pending' })
      expect(placed.headers.get('location')).toBe(`/orders/${placed.body.orderId}`)
      await wait(() => expect(told(s, 'reserved')).toEqual([expect.objectContaining({ event: 'notification', orderId: placed.body.orderId, userId: 'ada', status: 'reserved' })]))
      await wait(async () => expect((await s.call('GET', '/stock/SKU-A')).body).toEqual({ sku: 'SKU-A', available: 7, reserved: 3 }))
      const reserved = await readTopic(s.log, s.topics.reserved)
      expect(reserved.map((r) => JSON.parse(jsonOf(r.value!)).orderId)).toEqual([placed.body.orderId])
      expect(reserved[0].key).toBe('ada')
      expect(reserved[0].headers.ce_type).toBe('shop.inventory.reserved')
      expect(await readTopic(s.log, s.topics.failed)).toEqual([])
    })

    test('an order beyond the stock fails as out of stock and takes nothing', async () => {
      const s = await start()
      await setStock(s, 'SKU-B', 1)
      const placed = await s.call('POST', '/orders', { userId: 'bob', items: [{ sku: 'SKU-B', quantity: 2, unitPrice: 1 }], total: 2 })
      expect(placed.status).toBe(202)
      await wait(() => expect(s.notifications).toEqual([expect.objectContaining({ orderId: placed.body.orderId, status: 'out_of_stock' })]))
      expect(s.notifications[0].message).toContain('SKU-B (requested 2, available 1)')
      const failed = (await readTopic(s.log, s.topics.failed)).map((r) => JSON.parse(jsonOf(r.value!)))
      expect(failed).toEqual([expect.objectContaining({ orderId: placed.body.orderId, shortLines: [{ sku: 'SKU-B', requested: 2, available: 1 }] })])
      expect((await s.call('GET', '/stock/SKU-B')).body).toEqual({ sku: 'SKU-B', available: 1, reserved: 0 })
    })

    test('a two-line order with one short line fails, and the other line\'s stock comes back', async () => {
      const s = await start()
      await setStock(s, 'SKU-C', 5)
      await setStock(s, 'SKU-D', 1)
      const order = { userId: 'cy', items: [{ sku: 'SKU-C', quantity: 2, unitPrice: 3 }, { sku: 'SKU-D', quantity: 2, unitPrice: 4 }], total: 14 }
      const placed = await s.call('POST', '/orders', order)
      await wait(() => expect(s.notifications).toEqual([expect.objectContaining({ orderId: placed.body.orderId, status: 'out_of_stock' })]))
      await wait(async () => expect((await s.call('GET', '/stock/SKU-C')).body).toEqual({ sku: 'SKU-C', available: 5, reserved: 0 }))
      expect((await s.call('GET', '/stock/SKU-D')).body).toEqual({ sku: 'SKU-D', available: 1, reserved: 0 })
      const requests = (await readTopic(s.log, s.topics.inventoryRequests)).map((r) => JSON.parse(jsonOf(r.value!)))
      expect(requests.filter((r) => r.type === 'release')).toEqual([{ type: 'release', orderId: placed.body.orderId, line: 0, sku: 'SKU-C' }])
    })

    test('--order-schema-version=1 (a rolling upgrade): the api writes version 1, which every reader takes as EUR; another currency is refused with 400', async () => {
      const s = await start(['--order-schema-version=1'])
      await setStock(s, 'SKU-V', 5)
      const placed = await s.call('POST', '/orders', { userId: 'vic', items: [{ sku: 'SKU-V', quantity: 1, unitPrice: 2 }], total: 2 })
      expect(placed.status).toBe(202)
      const refused = await s.call('POST', '/orders', { userId: 'vic', items: [{ sku: 'SKU-V', quantity: 1, unitPrice: 2 }], total: 2, currency: 'USD' })
      expect(refused.status).toBe(400)
      expect(refused.body.errors).toEqual([expect.objectContaining({ path: '/currency' })])
      await wait(() => expect(told(s, 'reserved').map((n) => n.orderId)).toEqual([placed.body.orderId]))
      const created = await readTopic(s.log, s.topics.ordersCreated)
      expect(created.map((r) => r.headers.ce_dataschemaversion)).toEqual(['1'])
      expect(JSON.parse(jsonOf(created[0].value!))).not.toHaveProperty('currency')
      // The OrderActor read it as version 2 with the default: the order's first status carries EUR.
      const first = (await readTopic(s.log, s.topics.orderStatus)).map((r) => JSON.parse(jsonOf(r.value!))).find((c) => c.status === 'pending')
      expect(first.order.currency).toBe('EUR')
    })

    test('a rolling upgrade: an api process writing version 1 beside one writing version 2; every order is confirmed once, shown in its currency and counted once', async () => {
      const s = await start()
      const old = await start(['--roles=api', '--order-schema-version=1'], s)
      await setStock(s, 'SKU-R', 100)
      const placed: Array<{ orderId: string; version: string; currency: string; total: number }> = []
      for (let n = 0; n < 8; n++) {
        const upgraded = n % 2 === 1
        const currency = upgraded && n % 4 === 1 ? 'USD' : 'EUR'
        const body = { userId: `roll-${n}`, items: [{ sku: 'SKU-R', quantity: 1, unitPrice: n + 1 }], total: n + 1, ...(upgraded ? { currency } : {}) }
        const answer = await (upgraded ? s : old).call('POST', '/orders', body)
        expect(answer.status).toBe(202)
        placed.push({ orderId: answer.body.orderId, version: upgraded ? '2' : '1', currency, total: n + 1 })
      }
      const byId = (a: { orderId: string }, b: { orderId: string }) => a.orderId.localeCompare(b.orderId)
      // The OrderActor, the inventory and the notifier: each order confirmed, once. (Waited for
      // first: a 202 comes once the api's transaction is decided, and its commit marker, which
      // read_committed readers wait for, may be written a moment later.)
      await wait(() => expect(told(s, 'reserved').map((n) => n.orderId).sort()).toEqual(placed.map((p) => p.orderId).sort()))
      // Both versions on one topic, each under its own version and schema id.
      const created = (await readTopic(s.log, s.topics.ordersCreated)).map((r) => ({ orderId: JSON.parse(jsonOf(r.value!)).orderId as string, version: r.headers.ce_dataschemaversion, id: r.value!.readUInt32BE(1) }))
      expect(created.map(({ orderId, version }) => ({ orderId, version })).sort(byId)).toEqual(placed.map(({ orderId, version }) => ({ orderId, version })).sort(byId))
      expect(new Set(created.filter((c) => c.version === '1').map((c) => c.id)).size).toBe(1)
      expect(new Set(created.map((c) => c.id)).size).toBe(2)
      // The read model: each order in its currency, version 1 in euros.
      await wait(async () => {
        for (const p of placed) expect((await s.call('GET', `/orders/${p.orderId}`)).body).toMatchObject({ orderId: p.orderId, total: p.total, currency: p.currency })
      })
      // The aggregator: every order counted once and confirmed, revenue by currency.
      const revenue: Record<string, number> = {}
      for (const p of placed) revenue[p.currency] = (revenue[p.currency] ?? 0) + p.total
      await wait(async () => {
        const windows = (await s.call('GET', '/analytics/order-rate')).body.windows as Array<{ orders: number; confirmed: number; revenue: Record<string, number> }>
        const sum: Record<string, number> = {}
        for (const w of windows) for (const [c, v] of Object.entries(w.revenue)) sum[c] = (sum[c] ?? 0) + v
        expect({ orders: windows.reduce((n, w) => n + w.orders, 0), confirmed: windows.reduce((n, w) => n + w.confirmed, 0), revenue: sum }).toEqual({ orders: 8, confirmed: 8, revenue })
      })
      expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
    })

    test('a poison record goes to shop.dlq with its origin and error; the partition moves on', async () => {
      const s = await start()
      await setStock(s, 'SKU-E', 5)
      const producer = s.log.producer()
      await producer.send([{ topic: s.topics.ordersCreated, key: 'eve', value: '{"not":"an order"', headers: { ce_type: 'shop.order.created', ce_dataschemaversion: '1' } }])
      const placed = await s.call('POST', '/orders', { userId: 'eve', items: [{ sku: 'SKU-E', quantity: 1, unitPrice: 1 }], total: 1 })
      await wait(() => expect(told(s, 'reserved').map((n) => n.orderId)).toEqual([placed.body.orderId]))
      // Each group that reads orders.created dead-letters it once: the OrderActor and the aggregator.
      await wait(async () => expect(await readTopic(s.log, s.topics.deadLetter)).toHaveLength(2))
      const dead = (await readTopic(s.log, s.topics.deadLetter)).sort((a, b) => a.headers['shop.dlq.group'].localeCompare(b.headers['shop.dlq.group']))
      expect(dead.map((d) => d.headers['shop.dlq.group'])).toEqual([`${s.prefix}shop-aggregator`, `${s.prefix}shop-order`])
      for (const d of dead) {
        expect(String(d.value)).toBe('{"not":"an order"')
        expect(d.key).toBe('eve')
        expect(d.headers).toMatchObject({ 'shop.dlq.topic': s.topics.ordersCreated, 'shop.dlq.offset': '0', 'shop.dlq.error.code': 'SHOP_INVALID_EVENT' })
        expect(d.headers['shop.dlq.error']).toContain('not JSON')
      }
    })

    test('a dead letter is replayed to its origin partition once, by whichever of two api processes is asked: the order is processed once; a second replay is refused', async () => {
      const token = 'replay-case-admin-token-0123456789'
      const s = await start([`--admin-token=${token}`])
      const other = await start([`--admin-token=${token}`, '--roles=api'], { prefix: s.prefix, log: s.log })
      const staff = { authorization: `Bearer ${token}` }
      await s.call('PUT', '/stock/SKU-R', { quantity: 5 }, staff)
      await wait(async () => expect((await s.call('GET', '/stock/SKU-R')).body.available).toBe(5))
      // An order the OrderActor dead-lettered (as the dead-letter step writes it) while its cause lasted.
      const order = { orderId: randomUUID(), userId: 'rey', items: [{ sku: 'SKU-R', quantity: 2, unitPrice: 1.5 }], total: 3, currency: 'EUR', createdAt: new Date().toISOString() }
      const created = eventRecord(s.topics.ordersCreated, events.orderCreated, order, 'shop/api')
      const origin = { ...created, key: 'rey', value: Buffer.from(created.value as string), headers: created.headers!, partition: partitionForKey('rey', 3), offset: 41n, timestamp: Date.now(), generation: -1 }
      const letter = deadLetterRecord(s.topics.deadLetter, `${s.prefix}shop-order`, origin, new Error('the inventory service was down'), 3)
      const [at] = await s.log.producer().send([{ ...letter, partition: 1 }])
      const replayPath = `/console/dead-letters/1/${at.offset}/replay`
      await wait(async () => expect((await s.call('GET', '/console/state')).body.deadLetters).toEqual([expect.objectContaining({ partition: 1, offset: String(at.offset), key: 'rey', group: `${s.prefix}shop-order`, error: 'the inventory service was down', attempts: 3, origin: { topic: s.topics.ordersCreated, partition: origin.partition, offset: '41' } })]))

      expect((await s.call('POST', replayPath)).status).toBe(401)
      expect((await s.call('POST', replayPath, undefined, { authorization: 'Bearer not-the-admin-token-at-all' })).status).toBe(403)
      expect((await s.call('POST', '/console/dead-letters/1/x/replay', undefined, staff)).status).toBe(400)
      expect((await s.call('POST', `/console/dead-letters/1/${at.offset + 1000n}/replay`, undefined, staff)).status).toBe(404)
      expect(await readTopic(s.log, s.topics.ordersCreated)).toEqual([])

      // Both api processes are asked at once: one replays, the other is refused (409 after the
      // replay, or 503 when fenced in the middle of it; asked again, 409).
      const answers = await Promise.all([s, other].map((p) => p.call('POST', replayPath, undefined, staff)))
      expect(answers.map((a) => a.status).filter((status) => status === 200)).toHaveLength(1)
      for (const refused of answers.filter((a) => a.status !== 200)) expect([409, 503]).toContain(refused.status)
      const replayed = answers.find((a) => a.status === 200)!.body
      expect(replayed).toEqual({ partition: 1, offset: String(at.offset), to: { topic: s.topics.ordersCreated, partition: origin.partition, offset: expect.any(String) }, at: expect.any(String) })
      const again = await other.call('POST', replayPath, undefined, staff)
      expect(again.status).toBe(409)
      expect(again.body.detail).toContain('already replayed')

      // Processed once: reserved, told once; the origin topic holds the record once, on its partition, without the dead-letter headers.
      await wait(() => expect(told(s, 'reserved').map((n) => n.orderId)).toEqual([order.orderId]))
      await wait(async () => expect((await s.call('GET', '/stock/SKU-R')).body).toMatchObject({ available: 3 }))
      const copies = await readTopic(s.log, s.topics.ordersCreated)
      expect(copies.map((r) => [r.partition, String(r.offset), JSON.parse(jsonOf(r.value!)).orderId])).toEqual([[origin.partition, replayed.to.offset, order.orderId]])
      expect(Object.keys(copies[0].headers).filter((h) => h.startsWith('shop.'))).toEqual([])
      expect(copies[0].headers.ce_id).toBe(created.headers!.ce_id)
      const marks = await readTopic(s.log, s.topics.deadLetterReplays)
      expect(marks.map((m) => [m.key, m.partition])).toEqual([[`1:${at.offset}`, 1]])
      // Both consoles show it replayed.
      for (const p of [s, other]) await wait(async () => expect((await p.call('GET', '/console/state')).body.deadLetters[0].replayed).toMatchObject({ partition: 1, offset: String(at.offset) }))
    })

    test('an order published twice under one Idempotency-Key (a retry through any api process) is processed once', async () => {
      const s = await start()
      await setStock(s, 'SKU-F', 10)
      const order = { userId: 'fay', items: [{ sku: 'SKU-F', quantity: 1, unitPrice: 1 }], total: 1 }
      const placed = await s.call('POST', '/orders', order, { 'idempotency-key': 'retry-1' })
      expect(placed.body.orderId).toBe(orderIdFor('fay', 'retry-1'))
      // What a second api process that had not yet seen the key would publish: the same order again.
      const again = (await readTopic(s.log, s.topics.ordersCreated))[0]
      await s.log.producer().send([{ topic: s.topics.ordersCreated, key: again.key, value: again.value, headers: again.headers }])
      const placedAfter = await s.call('POST', '/orders', order)
      await wait(() => expect(told(s, 'reserved').map((n) => n.orderId).sort()).toEqual([placed.body.orderId, placedAfter.body.orderId].sort()))
      await wait(async () => expect((await s.call('GET', '/stock/SKU-F')).body).toEqual({ sku: 'SKU-F', available: 8, reserved: 2 }))
      const end = await s.log.admin.endOffsets(s.topics.reserved)
      const reserved = (await readTopic(s.log, s.topics.reserved)).map((r) => JSON.parse(jsonOf(r.value!)).orderId)
      expect(reserved.sort()).toEqual([placed.body.orderId, placedAfter.body.orderId].sort())
      expect(end.reduce((a, b) => a + b, 0n)).toBeGreaterThanOrEqual(2n)
      expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
    })

    test('records whose key disagrees with their payload go to shop.dlq and change nothing', async () => {
      const s = await start()
      await setStock(s, 'SKU-G', 5)
      const producer = s.log.producer()
      const order = { orderId: 'order-keyed-wrong', userId: 'gus', items: [{ sku: 'SKU-G', quantity: 1, unitPrice: 1 }], total: 1, createdAt: new Date().toISOString() }
      await producer.send([{ topic: s.topics.ordersCreated, key: 'not-gus', ...encodeEvent(events.orderCreated, order, 'test') }])
      const setOther = { type: 'set' as const, sku: 'SKU-G', quantity: 99 }
      await producer.send([{ topic: s.topics.inventoryRequests, key: 'SKU-OTHER', ...encodeEvent(events.inventoryRequest, setOther, 'test') }])
      // The order is refused by both groups that read orders.created (order, aggregator); the request by the inventory.
      await wait(async () => expect(await readTopic(s.log, s.topics.deadLetter)).toHaveLength(3))
      const dead = await readTopic(s.log, s.topics.deadLetter)
      const errorOf = (topic: string, group: string) => dead.find((d) => d.headers['shop.dlq.topic'] === topic && d.headers['shop.dlq.group'] === `${s.prefix}shop-${group}`)?.headers['shop.dlq.error']
      expect(errorOf(s.topics.ordersCreated, 'order')).toContain('keyed "not-gus", but its userId is "gus"')
      expect(errorOf(s.topics.ordersCreated, 'aggregator')).toContain('keyed "not-gus", but its userId is "gus"')
      expect(errorOf(s.topics.inventoryRequests, 'inventory')).toContain('keyed "SKU-OTHER", but its sku is "SKU-G"')
      expect((await s.call('GET', '/stock/SKU-G')).body).toEqual({ sku: 'SKU-G', available: 5, reserved: 0 })
      expect(await readTopic(s.log, s.topics.inventoryRequests).then((r) => r.filter((x) => String(x.value).includes('order-keyed-wrong')))).toEqual([])
    })

    const statusOf = async (s: Awaited<ReturnType<typeof startShop>>, orderId: string) => (await s.call('GET', `/orders/${orderId}`)).body
    const payload = (records: Array<{ value: Buffer | null }>) => records.map((r) => JSON.parse(jsonOf(r.value!)))

    test('an order lives to shipped: GET /orders/{id} shows each step in order; the customer is told when it is reserved and shipped; the shipped units leave the stock', async () => {
      const s = await start(['--warehouse-pick-ms=10'])
      await setStock(s, 'SKU-L', 4)
      const placed = await s.call('POST', '/orders', { userId: 'lin', items: [{ sku: 'SKU-L', quantity: 2, unitPrice: 12.5 }], total: 25 })
      // Accepted, so never 404, even before the projector has it.
      expect((await s.call('GET', `/orders/${placed.body.orderId}`)).status).toBe(200)
      await wait(async () => expect((await statusOf(s, placed.body.orderId)).status).toBe('shipped'))
      const order = await statusOf(s, placed.body.orderId)
      expect(order).toMatchObject({ orderId: placed.body.orderId, userId: 'lin', total: 25, items: [{ sku: 'SKU-L', quantity: 2, unitPrice: 12.5 }], reason: null })
      expect(order.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'reserved', 'paid', 'packed', 'shipped'])
      expect(order.carrier).toEqual(order.history[4].carrier)
      expect(order.trackingNumber).toMatch(/^SHOP[0-9A-F]{12}$/)
      await wait(() => expect(s.notifications.filter((n) => n.orderId === placed.body.orderId).map((n) => n.status)).toEqual(['reserved', 'shipped']))
      const processed = payload(await readTopic(s.log, s.topics.paymentProcessed))
      expect(processed).toEqual([expect.objectContaining({ orderId: placed.body.orderId, amount: 25 })])
      // Reserved until shipped; then the 2 units are gone from the warehouse, not held for ever.
      await wait(async () => expect((await s.call('GET', '/stock/SKU-L')).body).toEqual({ sku: 'SKU-L', available: 2, reserved: 0 }))
    })

    test('a finished order\'s actor state is deleted once --dedup-window-ms has passed (tombstones on its changelogs); newer state stays; the read model keeps the order', async () => {
      const s = await start(['--dedup-window-ms=1000', '--idempotency-ttl-ms=1000', '--warehouse-pick-ms=1'])
      await setStock(s, 'SKU-W', 5)
      const place = async () => (await s.call('POST', '/orders', { userId: 'wen', items: [{ sku: 'SKU-W', quantity: 1, unitPrice: 4 }], total: 4 })).body.orderId as string
      const shipped = async (orderId: string) => {
        await wait(async () => expect((await statusOf(s, orderId)).status).toBe('shipped'))
        await wait(() => expect(s.notifications.filter((n) => n.orderId === orderId).map((n) => n.status)).toEqual(['reserved', 'shipped']))
      }
      // Each store's latest value (null: deleted) by key, read to the end of its changelog.
      const latest = async (topic: string) => new Map((await readTopic(s.log, topic)).map((r) => [r.key!, r.value === null ? null : JSON.parse(jsonOf(r.value!))]))
      const keysOf = (orderId: string) => ({
        sagas: [orderId],
        reservations: [`${orderId}/0`],
        notified: [`${orderId}/reserved/console`, `${orderId}/shipped/console`],
      })
      const changelogs = { sagas: s.topics.orderSagas, reservations: s.topics.reservations, notified: s.topics.notified }

      const first = await place()
      await shipped(first)
      let doneAt = 0
      for (const [store, keys] of Object.entries(keysOf(first)) as Array<[keyof typeof changelogs, string[]]>) {
        const values = await latest(changelogs[store])
        for (const key of keys) doneAt = Math.max(doneAt, values.get(key).doneAt)
      }
      // The window is a rule of time: wait until it has passed for all of the first order's state.
      await sleep(Math.max(0, doneAt + 1_000 - Date.now() + 50))
      // The next order of the same user and SKU reaches the same partitions; their transactions sweep.
      const second = await place()
      await shipped(second)

      for (const [store, keys] of Object.entries(keysOf(first)) as Array<[keyof typeof changelogs, string[]]>) {
        const values = await latest(changelogs[store])
        for (const key of keys) expect([store, key, values.get(key)]).toEqual([store, key, null])
      }
      // The second order's state was done after the sweeps began: its saga, reservation and last mark stay.
      const sagas = await latest(s.topics.orderSagas)
      expect(sagas.get(second)).toMatchObject({ status: 'shipped', doneAt: expect.any(Number) })
      expect((await latest(s.topics.reservations)).get(`${second}/0`)).toMatchObject({ status: 'shipped' })
      expect((await latest(s.topics.notified)).get(`${second}/shipped/console`)).toEqual({ doneAt: expect.any(Number) })
      // Stock is never forgotten (its view follows the changelog, a round behind at most), and the
      // read model (the customer's view) keeps the finished order.
      await wait(async () => expect((await s.call('GET', '/stock/SKU-W')).body).toEqual({ sku: 'SKU-W', available: 3, reserved: 0 }))
      expect((await statusOf(s, first)).history.map((h: { status: string }) => h.status)).toEqual(['pending', 'reserved', 'paid', 'packed', 'shipped'])
    })

    test('--roles=...,audit: each fact of an order\'s life once on its audit topic, in Connect\'s envelope, linked to its record by event id and offset; a poison record is dead-lettered, not exported', async () => {
      const s = await start(['--roles=api,order,inventory,payment,warehouse,shipper,projector,audit', '--warehouse-pick-ms=1'])
      await setStock(s, 'SKU-AU', 3)
      const producer = s.log.producer()
      await producer.send([{ topic: s.topics.ordersCreated, key: 'aud', value: '{"not":"an order"', headers: { ce_type: 'shop.order.created', ce_dataschemaversion: '2' } }])
      const shipped = await s.call('POST', '/orders', { userId: 'aud', items: [{ sku: 'SKU-AU', quantity: 2, unitPrice: 1.25 }], total: 2.5, currency: 'USD' })
      const short = await s.call('POST', '/orders', { userId: 'aud', items: [{ sku: 'SKU-AU', quantity: 2, unitPrice: 1 }], total: 2 })
      // Both orders at their end before the facts are read: what is audited is compared to them.
      await wait(async () => expect((await statusOf(s, shipped.body.orderId)).status).toBe('shipped'))
      await wait(async () => expect((await statusOf(s, short.body.orderId)).status).toBe('out_of_stock'))
      for (const [fact, audit] of auditedTopics(s.topics)) {
        const facts = (await readTopic(s.log, fact)).filter((r) => r.headers.ce_id !== undefined && !String(r.value).startsWith('{"not"'))
        await wait(async () => expect((await readTopic(s.log, audit)).length).toBe(facts.length))
        const exported = await readTopic(s.log, audit)
        const rows = exported.map((r) => ({ id: r.headers.ce_id, key: r.key, ...JSON.parse(String(r.value)).payload }))
        expect(rows.map((r) => [r.id, r.key, r.origin_topic, r.origin_offset])).toEqual(facts.map((f) => [f.headers.ce_id, f.key, fact, Number(f.offset)]))
      }
      const orders = (await readTopic(s.log, s.topics.auditOrdersCreated)).map((r) => JSON.parse(String(r.value)))
      expect(orders.map((o) => [o.payload.order_id, o.payload.currency, o.schema.name])).toEqual([
        [shipped.body.orderId, 'USD', 'shop.order.created.v2'],
        [short.body.orderId, 'EUR', 'shop.order.created.v2'],
      ])
      const statuses = (await readTopic(s.log, s.topics.auditOrderStatus)).map((r) => JSON.parse(String(r.value)).payload)
      expect(statuses.filter((p) => p.order_id === shipped.body.orderId).map((p) => p.status)).toEqual(['pending', 'reserved', 'paid', 'packed', 'shipped'])
      expect(statuses.filter((p) => p.order_id === short.body.orderId).map((p) => p.status)).toEqual(['pending', 'out_of_stock'])
      const dead = await readTopic(s.log, s.topics.deadLetter)
      expect(dead.map((d) => d.headers['shop.dlq.group']).toSorted()).toEqual([`${s.prefix}shop-audit`, `${s.prefix}shop-order`])
    })

    test('a charge above --payment-limit is declined: payment_failed with the reason, the stock comes back, the customer is told', async () => {
      const s = await start(['--payment-limit=100'])
      await setStock(s, 'SKU-P', 5)
      const placed = await s.call('POST', '/orders', { userId: 'pat', items: [{ sku: 'SKU-P', quantity: 3, unitPrice: 50 }], total: 150 })
      await wait(async () => expect((await statusOf(s, placed.body.orderId)).status).toBe('payment_failed'))
      expect((await statusOf(s, placed.body.orderId)).reason).toBe('limit_exceeded')
      await wait(async () => expect((await s.call('GET', '/stock/SKU-P')).body).toEqual({ sku: 'SKU-P', available: 5, reserved: 0 }))
      await wait(() => expect(told(s, 'payment_failed')).toEqual([expect.objectContaining({ orderId: placed.body.orderId })]))
      expect(told(s, 'payment_failed')[0].message).toContain('limit_exceeded')
      expect(payload(await readTopic(s.log, s.topics.paymentFailed))).toEqual([expect.objectContaining({ orderId: placed.body.orderId, reason: 'limit_exceeded' })])
      // The order never reaches the warehouse (the request would have left with the status).
      expect(await readTopic(s.log, s.topics.warehouseRequests)).toEqual([])
    })

    test('transient provider failures are retried to success; each order is charged once', async () => {
      const s = await start(['--payment-simulator-failure-rate=0.6', '--payment-backoff-ms=1', '--payment-attempts=30', '--warehouse-pick-ms=1'])
      await setStock(s, 'SKU-T', 100)
      // Keyed orders have the same ids in every run, so the simulator (seed 1) fails the same calls:
      // 0, 0, 0, 1, 5 and 2 times in a row. With random ids one run in ~80 drew a streak of 12 or
      // more, whose backoff (1 ms, doubling) outlasted the test's patience and held up its batch.
      const ids: string[] = []
      for (let i = 0; i < 6; i++) ids.push((await s.call('POST', '/orders', { userId: `tia-${i}`, items: [{ sku: 'SKU-T', quantity: 1, unitPrice: 3 }], total: 3 }, { 'idempotency-key': `tia-${i}` })).body.orderId)
      expect(ids).toEqual([0, 1, 2, 3, 4, 5].map((i) => orderIdFor(`tia-${i}`, `tia-${i}`)))
      await wait(async () => expect(await Promise.all(ids.map(async (id) => (await statusOf(s, id)).status))).toEqual(ids.map(() => 'shipped')))
      // Each of the 8 transient failures was tried again (a batch processed again would add more).
      expect(total(await scrape(s.shop.url), 'shop_payment_retries_total')).toBeGreaterThanOrEqual(8)
      const charges = payload(await readTopic(s.log, s.topics.paymentProcessed)).map((p) => p.orderId)
      expect(charges.sort()).toEqual([...ids].sort())
      expect(payload(await readTopic(s.log, s.topics.paymentRequests)).filter((r) => r.type === 'charge').map((r) => r.orderId).sort()).toEqual([...ids].sort())
    })

    test('cancel: a paid order is cancelled, its stock released and its charge refunded; a shipped order answers 409, an unknown one 404', async () => {
      const s = await start(['--warehouse-pick-ms=3000'])
      await setStock(s, 'SKU-X', 10)
      const placed = await s.call('POST', '/orders', { userId: 'xia', items: [{ sku: 'SKU-X', quantity: 4, unitPrice: 2 }], total: 8 })
      await wait(async () => expect((await statusOf(s, placed.body.orderId)).status).toBe('paid'))
      const cancelled = await s.call('POST', `/orders/${placed.body.orderId}/cancel`)
      expect(cancelled.status).toBe(202)
      expect(cancelled.body).toEqual({ orderId: placed.body.orderId, status: 'paid', cancel: 'requested' })
      await wait(async () => expect((await statusOf(s, placed.body.orderId)).history.map((h: { note?: string }) => h.note ?? '')).toContain('refunded 8.00'))
      const order = await statusOf(s, placed.body.orderId)
      expect(order.status).toBe('cancelled')
      expect(order.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'reserved', 'paid', 'cancelled', 'cancelled'])
      await wait(async () => expect((await s.call('GET', '/stock/SKU-X')).body).toEqual({ sku: 'SKU-X', available: 10, reserved: 0 }))
      expect(payload(await readTopic(s.log, s.topics.paymentRefunded))).toEqual([expect.objectContaining({ orderId: placed.body.orderId, amount: 8 })])
      await wait(() => expect(told(s, 'cancelled').map((n) => n.orderId)).toEqual([placed.body.orderId]))
      // A second cancel is answered from the read model: already done.
      expect((await s.call('POST', `/orders/${placed.body.orderId}/cancel`)).body.cancel).toBe('done')

      const other = await s.call('POST', '/orders', { userId: 'xia', items: [{ sku: 'SKU-X', quantity: 1, unitPrice: 2 }], total: 2 })
      // Picked once the cancelled order's pick (3 s) ends: the batches of a partition are picked one after another.
      await eventually(async () => expect((await statusOf(s, other.body.orderId)).status).toBe('shipped'), options.patienceMs + 10_000)
      const late = await s.call('POST', `/orders/${other.body.orderId}/cancel`)
      expect(late.status).toBe(409)
      expect(late.headers.get('content-type')).toBe('application/problem+json')
      expect(late.body).toMatchObject({ type: 'urn:shop:error:SHOP_CONFLICT', status: 409, orderId: other.body.orderId, orderStatus: 'shipped' })
      expect((await s.call('POST', '/orders/no-such-order/cancel')).status).toBe(404)
      expect((await s.call('GET', '/orders/no-such-order')).status).toBe(404)
    }, 60_000)

    test('a cancel read before its order (they travel on two topics) waits for it: the order is cancelled, its stock released, nothing dead-lettered', async () => {
      const s = await start(['--warehouse-pick-ms=10'])
      await setStock(s, 'SKU-V', 5)
      const producer = s.log.producer()
      const order = { orderId: 'order-overtaken', userId: 'vic', items: [{ sku: 'SKU-V', quantity: 2, unitPrice: 1 }], total: 2, createdAt: new Date().toISOString() }
      const [cancel] = await producer.send([{ topic: s.topics.cancelRequests, key: 'vic', ...encodeEvent(events.cancelRequest, { orderId: order.orderId, userId: 'vic', requestedAt: new Date().toISOString() }, 'test') }])
      // The order group has taken the cancel (committed past it) before the order is published.
      await wait(async () => expect((await s.log.admin.committedOffsets(`${s.prefix}shop-order`)).find((c) => c.topic === s.topics.cancelRequests && c.partition === cancel.partition)?.offset).toBe(cancel.offset + 1n))
      await producer.send([{ topic: s.topics.ordersCreated, key: 'vic', ...encodeEvent(events.orderCreated, order, 'test') }])
      await wait(async () => expect((await statusOf(s, order.orderId)).status).toBe('cancelled'))
      await wait(async () => expect((await s.call('GET', '/stock/SKU-V')).body).toEqual({ sku: 'SKU-V', available: 5, reserved: 0 }))
      await wait(() => expect(told(s, 'cancelled').map((n) => n.orderId)).toEqual([order.orderId]))
      expect(told(s, 'reserved')).toEqual([])
      expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
      expect(await readTopic(s.log, s.topics.paymentRequests)).toEqual([])
    })

    test('an out-of-stock order never reaches payment', async () => {
      const s = await start()
      await setStock(s, 'SKU-O', 1)
      const placed = await s.call('POST', '/orders', { userId: 'oli', items: [{ sku: 'SKU-O', quantity: 2, unitPrice: 1 }], total: 2 })
      await wait(async () => expect((await statusOf(s, placed.body.orderId)).status).toBe('out_of_stock'))
      // A payment request would have been written in the same transaction as the status.
      expect(await readTopic(s.log, s.topics.paymentRequests)).toEqual([])
      expect((await statusOf(s, placed.body.orderId)).reason).toBe('SKU-O (requested 2, available 1)')
    })

    test('GET /orders: newest first, filtered by user and status, paged by cursor; bad parameters are 400 problems', async () => {
      const s = await start(['--roles=api,order,inventory,projector'])
      await setStock(s, 'SKU-Q', 100)
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push((await s.call('POST', '/orders', { userId: 'quinn', items: [{ sku: 'SKU-Q', quantity: 1, unitPrice: 1 }], total: 1 })).body.orderId)
      const other = (await s.call('POST', '/orders', { userId: 'ray', items: [{ sku: 'SKU-Q', quantity: 1, unitPrice: 1 }], total: 1 })).body.orderId
      await wait(async () => expect((await s.call('GET', '/orders?status=reserved&limit=100')).body.orders).toHaveLength(6))
      const first = await s.call('GET', '/orders?userId=quinn&limit=2')
      expect(first.status).toBe(200)
      const second = await s.call('GET', `/orders?userId=quinn&limit=2&cursor=${first.body.next}`)
      const third = await s.call('GET', `/orders?userId=quinn&limit=2&cursor=${second.body.next}`)
      expect(third.body.next).toBeNull()
      const pages = [first, second, third].flatMap((p) => p.body.orders.map((o: { orderId: string }) => o.orderId))
      expect(pages.sort()).toEqual([...ids].sort())
      const all = (await s.call('GET', '/orders?limit=100')).body.orders as Array<{ orderId: string; createdAt: string }>
      expect(all.map((o) => o.orderId)).toContain(other)
      expect(all.map((o) => o.createdAt)).toEqual([...all.map((o) => o.createdAt)].sort().reverse())
      expect((await s.call('GET', '/orders?status=shipped')).body).toEqual({ orders: [], next: null })
      for (const bad of ['status=lost', 'limit=0', 'limit=101', 'limit=x', 'cursor=nonsense', 'colour=red']) {
        const answer = await s.call('GET', `/orders?${bad}`)
        expect([bad, answer.status, answer.headers.get('content-type')]).toEqual([bad, 400, 'application/problem+json'])
      }
    })

    test('GET /metrics counts what happened, exactly: orders, statuses, latencies, records and transactions per group, dead letters, notifications, HTTP answers; the lag gauges equal the group\'s committed offsets', async () => {
      const s = await start(['--warehouse-pick-ms=1', '--lag-sample-ms=200'])
      await setStock(s, 'SKU-M', 3)
      const order = (userId: string, quantity: number) => ({ userId, items: [{ sku: 'SKU-M', quantity, unitPrice: 2 }], total: 2 * quantity })
      const shipped = [] as string[]
      for (const user of ['mia', 'max', 'mo']) shipped.push((await s.call('POST', '/orders', order(user, 1), { 'idempotency-key': `k-${user}` })).body.orderId)
      // A replay (answered again, not published), a bad body, an order beyond the stock, a poison record.
      expect((await s.call('POST', '/orders', order('mia', 1), { 'idempotency-key': 'k-mia' })).status).toBe(202)
      expect((await s.call('POST', '/orders', { userId: 'mia' })).status).toBe(400)
      const short = (await s.call('POST', '/orders', order('mel', 1))).body.orderId
      await s.log.producer().send([{ topic: s.topics.ordersCreated, key: 'mia', value: 'not json', headers: { ce_type: 'shop.order.created', ce_dataschemaversion: '1' } }])
      await wait(async () => expect(await Promise.all([...shipped, short].map(async (id) => (await statusOf(s, id)).status))).toEqual(['shipped', 'shipped', 'shipped', 'out_of_stock']))
      await wait(() => expect(s.notifications).toHaveLength(7))

      // Every record of the order group's topics, read back: what shop_actor_records_total must count.
      const orderReads = [s.topics.ordersCreated, s.topics.lineResults, s.topics.paymentProcessed, s.topics.packed, s.topics.shipped]
      const read = await Promise.all(orderReads.map((topic) => readTopic(s.log, topic)))
      expect(read.map((records) => records.length)).toEqual([5, 4, 3, 3, 3])
      // The order group's last commit on orders.created is the poison record's dead letter, which
      // may come after every order ended: once it is counted, the group's offsets there are final.
      await wait(async () => expect(total(await scrape(s.shop.url), 'shop_dead_letters_total', { group: 'order' })).toBe(1))
      const committed = await s.log.admin.committedOffsets(`${s.prefix}shop-order`)
      const ends = await s.log.admin.endOffsets(s.topics.ordersCreated)
      await wait(async () => {
        const m = await scrape(s.shop.url)
        // The api role reports every group: the order group's offsets on orders.created, as the broker has them.
        for (const c of committed.filter((c) => c.topic === s.topics.ordersCreated)) {
          const labels = { consumergroup: `${s.prefix}shop-order`, topic: c.topic, partition: String(c.partition) }
          expect([c.partition, total(m, 'kafka_consumergroup_current_offset', labels), total(m, 'kafka_consumergroup_lag', labels)]).toEqual([c.partition, Number(c.offset), Number(ends[c.partition] - c.offset)])
        }
      })
      // The aggregator dead-letters the bad order too, in its own time.
      await wait(async () => expect(total(await scrape(s.shop.url), 'shop_dead_letters_total', { group: 'aggregator' })).toBe(1))
      const m = await scrape(s.shop.url)
      const count = (name: string, labels: Record<string, string> = {}) => total(m, name, labels)
      expect(count('shop_orders_accepted_total')).toBe(4)
      expect([202, 400].map((status) => count('shop_http_requests_total', { method: 'POST', route: '/orders', status: String(status) }))).toEqual([5, 1])
      expect(count('shop_http_request_duration_seconds_count', { route: '/orders', method: 'POST' })).toBe(6)
      expect(count('shop_http_requests_total', { route: '/orders/:id', method: 'GET', status: '200' })).toBeGreaterThan(0)
      const statuses = ['pending', 'reserved', 'paid', 'packed', 'shipped', 'out_of_stock', 'payment_failed', 'cancelled']
      expect(statuses.map((status) => count('shop_order_status_changes_total', { status }))).toEqual([4, 3, 3, 3, 3, 1, 0, 0])
      expect([count('shop_order_outcome_latency_seconds_count', { outcome: 'reserved' }), count('shop_order_outcome_latency_seconds_count', { outcome: 'failed' })]).toEqual([3, 1])
      expect(count('shop_notification_deliveries_total', { sink: 'console', result: 'delivered' })).toBe(7)
      expect(count('shop_order_notification_latency_seconds_count', { sink: 'console', status: 'shipped' })).toBe(3)
      expect(count('shop_dead_letters_total', { group: 'order', origin_topic: s.topics.ordersCreated })).toBe(1)
      expect(count('shop_dead_letters_total', { group: 'aggregator', origin_topic: s.topics.ordersCreated })).toBe(1)
      expect(count('shop_dead_letters_total')).toBe(2)
      expect(count('shop_actor_records_total', { group: 'order' })).toBe(18)
      expect(count('shop_actor_batch_records_sum', { group: 'order' })).toBe(18)
      // Each committed transaction of the order member holds batches of its partition actors: every batch in exactly one.
      expect(count('shop_transaction_batches_sum', { group: 'order' })).toBe(count('shop_actor_batch_records_count', { group: 'order' }))
      expect(count('shop_transactions_total', { group: 'order', result: 'committed' })).toBe(count('shop_transaction_batches_count', { group: 'order' }))
      expect(count('shop_transaction_duration_seconds_count', { group: 'order' })).toBe(count('shop_transaction_batches_count', { group: 'order' }))
      expect(count('shop_transactions_total', { result: 'aborted' })).toBe(0)
      expect(count('shop_actor_records_total', { group: 'inventory' })).toBe((await readTopic(s.log, s.topics.inventoryRequests)).length)
      expect(count('shop_payment_requests_total', { kind: 'charge', result: 'performed' })).toBe(3)
      expect(count('shop_actor_restarts_total')).toBe(0)
      // One restore per partition actor with stores, each from empty changelogs, none of them waiting.
      const partitions = (await s.log.admin.describeTopics([s.topics.ordersCreated]))[0].partitions
      expect(['order', 'inventory', 'notifier'].map((group) => count('shop_state_restore_duration_seconds_count', { group }))).toEqual([partitions, partitions, partitions])
      expect([count('shop_state_restored_records_total'), count('shop_state_restore_waits_total')]).toEqual([0, 0])
      // The stores' entries, in memory or in the cache alone: a saga per order that reached the
      // order actor, the stock of SKU-M and a reservation per line, a mark per notification.
      await wait(async () => {
        const now = await scrape(s.shop.url)
        expect(['order', 'inventory', 'notifier'].map((group) => total(now, 'shop_state_entries', { group }))).toEqual([4, 5, 7])
      })
      expect(['api', 'order', 'inventory', 'notifier'].map((role) => count('shop_role_ready', { role }))).toEqual([1, 1, 1, 1])
      expect(count('process_resident_memory_bytes')).toBeGreaterThan(0)
    })
  })
}
