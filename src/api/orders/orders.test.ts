import { parseMetrics, total } from '../../../test/harness/metrics.ts'
import { jsonOf } from '../../events/envelope.ts'
import { Metrics } from '../../observability/metrics.ts'
import { connect } from 'node:net'
import { OrderQueries } from './queries.ts'
import { SqlReadModel } from '../../read-model/sql.ts'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { Shop } from '../../app.ts'
import { loadConfig } from '../../config/load.ts'
import { MemoryLog } from '../../kafka/memory/index.ts'
import type { TransactionalProducer } from '../../kafka/port.ts'
import { readTopic } from '../../kafka/read-to-end.ts'
import { createLogger } from '../../log.ts'
import { TopicView } from '../../state/topic-view.ts'
import { topicNames } from '../../topology.ts'
import { problems } from '../problem.ts'
import { orderRoutes } from './index.ts'
import { eventually } from '../../../test/harness/eventually.ts'
import { orderIdFor } from './identity.ts'
import { type IdempotencyEntry, OrderIntake } from './intake.ts'
import { TransactionalPublisher } from './publisher.ts'

const good = { userId: 'ada', items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1.25 }], total: 2.5 }
const json = 'application/json'

/** Bad requests, each with the status and the field the problem body must name. */
const badInputs: Array<{ name: string; body: string | Uint8Array; type?: string; status: number; path?: string }> = [
  { name: 'a price below a cent that rounds to a zero total', body: JSON.stringify({ ...good, items: [{ ...good.items[0], unitPrice: 0.000000001 }], total: 0 }), status: 400, path: '/items/0/unitPrice' },
  { name: 'a price past exact cents (1e20)', body: JSON.stringify({ ...good, items: [{ ...good.items[0], unitPrice: 1e20 }], total: 2e20 }), status: 400, path: '/items/0/unitPrice' },
  { name: 'a control character in userId', body: JSON.stringify({ ...good, userId: 'ada\u0007' }), status: 400, path: '/userId' },
  { name: 'a blank userId', body: JSON.stringify({ ...good, userId: '   ' }), status: 400, path: '/userId' },
  { name: 'a lone surrogate in userId', body: JSON.stringify(good).replace('"ada"', '"ada\\ud800"'), status: 400, path: '/userId' },
  { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"userId":"ad'), Buffer.from([0xc3, 0x28]), Buffer.from(`","items":${JSON.stringify(good.items)},"total":2.5}`)]), status: 400 },
  { name: 'malformed JSON', body: '{"userId": "ada",', status: 400 },
  { name: 'an empty body', body: '', status: 400 },
  { name: 'a JSON array', body: '[]', status: 400, path: '/' },
  { name: 'missing userId', body: JSON.stringify({ items: good.items, total: 2.5 }), status: 400, path: '/userId' },
  { name: 'missing items', body: JSON.stringify({ userId: 'ada', total: 2.5 }), status: 400, path: '/items' },
  { name: 'an extra field', body: JSON.stringify({ ...good, coupon: 'FREE' }), status: 400, path: '/coupon' },
  { name: 'an extra field in a line', body: JSON.stringify({ ...good, items: [{ ...good.items[0], color: 'red' }] }), status: 400, path: '/items/0/color' },
  { name: 'userId as a number', body: JSON.stringify({ ...good, userId: 42 }), status: 400, path: '/userId' },
  { name: 'quantity as a string', body: JSON.stringify({ ...good, items: [{ ...good.items[0], quantity: '2' }] }), status: 400, path: '/items/0/quantity' },
  { name: 'a fractional quantity', body: JSON.stringify({ ...good, items: [{ ...good.items[0], quantity: 1.5 }] }), status: 400, path: '/items/0/quantity' },
  { name: 'a zero quantity', body: JSON.stringify({ ...good, items: [{ ...good.items[0], quantity: 0 }], total: 0 }), status: 400, path: '/items/0/quantity' },
  { name: 'a negative quantity', body: JSON.stringify({ ...good, items: [{ ...good.items[0], quantity: -1 }] }), status: 400, path: '/items/0/quantity' },
  { name: 'a quantity over 10,000', body: JSON.stringify({ ...good, items: [{ ...good.items[0], quantity: 10_001 }] }), status: 400, path: '/items/0/quantity' },
  { name: 'a negative price', body: JSON.stringify({ ...good, items: [{ ...good.items[0], unitPrice: -1 }], total: -2 }), status: 400, path: '/items/0/unitPrice' },
  { name: 'a price with 3 decimals', body: JSON.stringify({ ...good, items: [{ ...good.items[0], unitPrice: 1.255 }], total: 2.51 }), status: 400, path: '/items/0/unitPrice' },
  { name: 'no items', body: JSON.stringify({ ...good, items: [], total: 0 }), status: 400, path: '/items' },
  { name: '101 items', body: JSON.stringify({ ...good, items: Array.from({ length: 101 }, () => ({ sku: 'S', quantity: 1, unitPrice: 1 })), total: 101 }), status: 400, path: '/items' },
  { name: 'a wrong total', body: JSON.stringify({ ...good, total: 3 }), status: 400, path: '/total' },
  { name: 'an empty userId', body: JSON.stringify({ ...good, userId: '' }), status: 400, path: '/userId' },
  { name: 'a 65 KiB body', body: JSON.stringify({ ...good, userId: 'x'.repeat(65 * 1024) }), status: 413 },
  { name: 'text/plain', body: JSON.stringify(good), type: 'text/plain', status: 415 },
  { name: 'no content type', body: JSON.stringify(good), type: '', status: 415 },
]

describe('POST /orders', () => {
  let shop: Shop
  let log: MemoryLog
  const topics = topicNames('')
  const post = (body: string | Uint8Array, headers: Record<string, string> = { 'content-type': json }) =>
    fetch(`${shop.url}/orders`, { method: 'POST', body, headers })
  const published = async () => (await readTopic(log, topics.ordersCreated)).map((r) => JSON.parse(jsonOf(r.value!)))

  beforeAll(async () => {
    log = new MemoryLog()
    const { config } = loadConfig(['--roles=api', '--http-port=0'], {})
    shop = await Shop.start({ config, log, logger: createLogger('silent'), onEscalate: () => {} })
  })
  afterAll(() => shop.stop())

  for (const bad of badInputs) {
    test(`refuses ${bad.name} with ${bad.status} and a problem body; publishes nothing`, async () => {
      const before = (await published()).length
      const headers: Record<string, string> = bad.type === '' ? {} : { 'content-type': bad.type ?? json }
      const response = await post(bad.body, headers)
      expect(response.status).toBe(bad.status)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      const problem = (await response.json()) as { status: number; title: string; detail: string; errors?: Array<{ path: string }> }
      expect(problem.status).toBe(bad.status)
      expect(problem.detail.length).toBeGreaterThan(0)
      if (bad.path) expect(problem.errors?.map((e) => e.path)).toContain(bad.path)
      expect((await published()).length).toBe(before)
    })
  }

  test('a body sent chunked (no Content-Length) is read up to the limit: refused with 413 past it, accepted within it', async () => {
    const chunked = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text)
          for (let at = 0; at < bytes.length; at += 8 * 1024) controller.enqueue(bytes.subarray(at, at + 8 * 1024))
          controller.close()
        },
      })
    const send = (text: string) => fetch(`${shop.url}/orders`, { method: 'POST', body: chunked(text), headers: { 'content-type': json } })
    const before = (await published()).length
    const tooLarge = await send(JSON.stringify({ ...good, userId: 'x'.repeat(70 * 1024) }))
    expect(tooLarge.status).toBe(413)
    expect(((await tooLarge.json()) as { status: number }).status).toBe(413)
    expect((await published()).length).toBe(before)
    const fine = await send(JSON.stringify({ ...good, userId: 'chunked' }))
    expect(fine.status).toBe(202)
    expect((await published()).map((o) => o.userId)).toEqual([...(await published()).slice(0, before).map((o) => o.userId), 'chunked'])
  })

  test('a userId with non-ASCII letters and an emoji is accepted', async () => {
    const response = await post(JSON.stringify({ ...good, userId: 'Zoë 👩‍💻' }))
    expect(response.status).toBe(202)
  })

  test('wrong methods answer 405 with Allow; unknown methods a 4xx; PUT /stock refuses levels past a billion', async () => {
    const wrong = await fetch(`${shop.url}/orders`, { method: 'DELETE' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST, GET')
    expect(wrong.headers.get('content-type')).toBe('application/problem+json')
    const onStock = await fetch(`${shop.url}/stock/SKU-1`, { method: 'POST' })
    expect(onStock.status).toBe(405)
    expect(onStock.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'PUT'])
    // Bun's fetch sends an unknown method as GET, so the request is written by hand.
    const { hostname, port } = new URL(shop.url)
    const answer = await new Promise<string>((resolve) => {
      let text = ''
      const socket = connect({ host: hostname, port: Number(port) }, () => socket.write('FROB /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'))
      socket.on('data', (chunk) => (text += chunk.toString()))
      socket.on('close', () => resolve(text))
      socket.on('error', () => resolve(text))
      setTimeout(() => socket.end(), 1_000)
    })
    // Refused: a 4xx status line, or the connection closed without an answer; never a 2xx.
    expect(answer === '' || /^HTTP\/1\.1 4\d\d/.test(answer)).toBe(true)
    expect((await fetch(`${shop.url}/nowhere`)).status).toBe(404)
    const huge = await fetch(`${shop.url}/stock/SKU-1`, { method: 'PUT', body: '{"quantity":1e308}', headers: { 'content-type': json } })
    expect(huge.status).toBe(400)
  })

  test('a valid order is published once, keyed by user, with the CloudEvents envelope', async () => {
    const response = await post(JSON.stringify(good))
    expect(response.status).toBe(202)
    const { orderId } = (await response.json()) as { orderId: string }
    const records = (await readTopic(log, topics.ordersCreated)).filter((r) => JSON.parse(jsonOf(r.value!)).orderId === orderId)
    expect(records).toHaveLength(1)
    expect(records[0].key).toBe('ada')
    expect(records[0].headers).toMatchObject({ ce_type: 'shop.order.created', ce_dataschemaversion: '2', ce_specversion: '1.0' })
    expect(JSON.parse(jsonOf(records[0].value!))).toMatchObject({ ...good, orderId })
  })

  test('Idempotency-Key: the same body replays the first answer and publishes nothing; another body is 409', async () => {
    const key = { 'content-type': json, 'idempotency-key': `key-${Math.random()}` }
    const first = await post(JSON.stringify(good), key)
    expect(first.status).toBe(202)
    const answer = await first.json()
    const count = (await published()).length
    // Same body, keys in another order: the same order.
    const again = await post(JSON.stringify({ total: 2.5, items: good.items, userId: 'ada' }), key)
    expect(again.status).toBe(202)
    expect(await again.json()).toEqual(answer)
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    const conflict = await post(JSON.stringify({ ...good, items: [{ ...good.items[0], quantity: 4 }], total: 5 }), key)
    expect(conflict.status).toBe(409)
    expect(conflict.headers.get('content-type')).toBe('application/problem+json')
    expect((await published()).length).toBe(count)
    // Keys are scoped per user: another customer's identical key is another order.
    const bob = await post(JSON.stringify({ ...good, userId: 'bob' }), key)
    expect(bob.status).toBe(202)
    const bobs = (await bob.json()) as { orderId: string }
    expect(bobs.orderId).not.toBe((answer as { orderId: string }).orderId)
    expect(bobs.orderId).toBe(orderIdFor('bob', key['idempotency-key']))
    const tooLong = await post(JSON.stringify(good), { 'content-type': json, 'idempotency-key': 'k'.repeat(256) })
    expect(tooLong.status).toBe(400)
  })

  test('a key written by another api process is honoured (the idempotency topic is shared)', async () => {
    const { config } = loadConfig(['--roles=api', '--http-port=0'], {})
    const other = await Shop.start({ config, log: new MemoryLog({ cluster: log.cluster }), logger: createLogger('silent'), onEscalate: () => {} })
    try {
      const headers = { 'content-type': json, 'idempotency-key': `shared-${Math.random()}` }
      const first = await fetch(`${other.url}/orders`, { method: 'POST', body: JSON.stringify(good), headers })
      const answer = await first.json()
      const replay = await eventually(async () => {
        const r = await post(JSON.stringify(good), headers)
        expect(r.headers.get('idempotent-replayed')).toBe('true')
        return r.json()
      }, 2_000)
      expect(replay).toEqual(answer)
    } finally {
      await other.stop()
    }
  })
})

/** A transactional producer whose steps wait for the test: `gates.begin`, `gates.send`, `gates.commit`. */
function stalledProducer() {
  const waiting = { begin: [] as Array<() => void>, send: [] as Array<() => void>, commit: [] as Array<() => void> }
  let open = false
  const gate = (step: keyof typeof waiting) => (open ? Promise.resolve() : new Promise<void>((resolve) => waiting[step].push(resolve)))
  /** The broker answers from now on. */
  const release = () => {
    open = true
    for (const step of Object.values(waiting)) for (const resolve of step) resolve()
  }
  const producer: TransactionalProducer = {
    transactionalId: 'stalled',
    init: async () => {},
    begin: async () => {
      await gate('begin')
      return { send: () => gate('send'), sendOffsets: async () => {}, commit: () => gate('commit').then(() => []), abort: async () => {} }
    },
    close: async () => {},
  }
  return { producer, waiting, release }
}

async function intakeApp(producer: TransactionalProducer, options: { maxInFlight?: number; acceptTimeoutMs?: number; backlog?: number | null } = {}) {
  const log = new MemoryLog()
  const topics = topicNames('')
  await log.admin.ensureTopics([{ name: topics.idempotencyKeys, partitions: 1 }])
  const keys = new TopicView<IdempotencyEntry>({ log, logger: createLogger('silent'), topic: topics.idempotencyKeys, decode: () => undefined })
  const metrics = new Metrics()
  const publisher = new TransactionalPublisher({ producer, logger: createLogger('silent'), metrics, maxBatchRecords: 500, commitIntervalMs: 0, commitRecords: 64 })
  const intake = new OrderIntake({
    publisher,
    topics,
    keys,
    maxInFlight: options.maxInFlight ?? 100,
    acceptTimeoutMs: options.acceptTimeoutMs ?? 60_000,
    idempotencyTtlMs: 60_000,
    backlog: () => options.backlog ?? null,
    maxBacklog: 10, orderSchemaVersion: 2,
    metrics,
  })
  const readModel = new SqlReadModel({ kind: 'sqlite', path: ':memory:' })
  const app = new Elysia().use(problems).use(orderRoutes(intake, new OrderQueries(() => readModel, intake), () => {}))
  const post = (headers: Record<string, string> = {}) =>
    app.handle(new Request('http://localhost/orders', { method: 'POST', body: JSON.stringify(good), headers: { 'content-type': json, ...headers } }))
  return { post, publisher, metrics }
}

describe('POST /orders when the broker is slow or away', () => {
  test('stopping waits for the transaction in flight: its callers get their answer, then the producer closes', async () => {
    const { producer, waiting, release } = stalledProducer()
    const closed: string[] = []
    producer.close = async () => void closed.push('producer closed')
    const publisher = new TransactionalPublisher({ producer, logger: createLogger('silent'), metrics: new Metrics(), maxBatchRecords: 500, commitIntervalMs: 0, commitRecords: 64 })
    const published = publisher.publish([{ topic: 'orders', value: 'o1' }], Date.now() + 10_000).then(() => closed.push('published'))
    await eventually(() => expect(waiting.begin.length).toBe(1), 2_000)
    const stopping = publisher.close()
    release()
    await Promise.all([published, stopping])
    expect(closed).toEqual(['published', 'producer closed'])
  })

  test('beyond --producer-max-in-flight unacknowledged orders the API answers 503 with Retry-After', async () => {
    const { producer, waiting, release } = stalledProducer()
    const { post, metrics } = await intakeApp(producer, { maxInFlight: 2 })
    const held = [post(), post()]
    await eventually(() => expect(waiting.begin).toHaveLength(1), 2_000)
    const refused = await post()
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    // What an operator sees of it: the backlog full, one refusal, nothing accepted yet.
    const during = parseMetrics(await metrics.text())
    expect([total(during, 'shop_producer_in_flight'), total(during, 'shop_producer_in_flight_limit')]).toEqual([2, 2])
    expect(total(during, 'shop_orders_refused_total', { reason: 'in_flight' })).toBe(1)
    expect(total(during, 'shop_orders_accepted_total')).toBe(0)
    release()
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([202, 202])
    const after = parseMetrics(await metrics.text())
    expect([total(after, 'shop_producer_in_flight'), total(after, 'shop_orders_accepted_total'), total(after, 'shop_orders_refused_total')]).toEqual([0, 2, 1])
  })

  test('a transaction that cannot commit by the deadline is aborted: 503 SHOP_UNAVAILABLE with the orderId and the key to retry with; later orders are refused at once while it settles', async () => {
    const { producer, waiting } = stalledProducer()
    const { post, publisher } = await intakeApp(producer, { acceptTimeoutMs: 200 })
    const started = Date.now()
    const response = await post({ 'idempotency-key': 'k-1' })
    expect(response.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(response.headers.get('retry-after')).toBe('1')
    const problem = (await response.json()) as Record<string, string>
    expect(problem.type).toBe('urn:shop:error:SHOP_UNAVAILABLE')
    expect(problem).toMatchObject({ orderId: orderIdFor('ada', 'k-1'), idempotencyKey: 'k-1' })
    expect(JSON.stringify(problem)).not.toContain('127.0.0.1')
    expect(publisher.available).toBe(false)
    // The stuck transaction has not settled: the next order is refused without waiting.
    const next = await post()
    expect(next.status).toBe(503)
    const keyless = (await next.json()) as Record<string, string>
    expect(keyless.orderId).toBe(orderIdFor('ada', keyless.idempotencyKey))
    expect(waiting.commit).toHaveLength(0)
  })

  test('orders queued behind a transaction that never settles are answered 503 SHOP_UNAVAILABLE by their own deadline', async () => {
    const { producer, waiting } = stalledProducer()
    const { post } = await intakeApp(producer, { acceptTimeoutMs: 300 })
    const first = post({ 'idempotency-key': 'k-first' })
    await eventually(() => expect(waiting.begin).toHaveLength(1), 2_000)
    // Arrives while the first transaction is in flight and the publisher still counts as available.
    const started = Date.now()
    const queued = await post({ 'idempotency-key': 'k-queued' })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(queued.status).toBe(503)
    expect(await queued.json()).toMatchObject({ type: 'urn:shop:error:SHOP_UNAVAILABLE', orderId: orderIdFor('ada', 'k-queued') })
    expect((await first).status).toBe(503)
    expect(waiting.commit).toHaveLength(0)
  })

  test('a commit the broker does not confirm by the deadline answers 503 SHOP_OUTCOME_UNKNOWN', async () => {
    const { producer, waiting } = stalledProducer()
    const { post } = await intakeApp(producer, { acceptTimeoutMs: 300 })
    const answer = post({ 'idempotency-key': 'k-2' })
    await eventually(() => expect(waiting.begin).toHaveLength(1), 2_000)
    waiting.begin[0]()
    await eventually(() => expect(waiting.send).toHaveLength(1), 2_000)
    waiting.send[0]()
    const response = await answer
    expect(waiting.commit).toHaveLength(1)
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ type: 'urn:shop:error:SHOP_OUTCOME_UNKNOWN', orderId: orderIdFor('ada', 'k-2'), idempotencyKey: 'k-2' })
  })

  test('a pipeline backlog beyond --max-order-backlog answers 503 before anything is published', async () => {
    const { producer, waiting } = stalledProducer()
    const { post, metrics } = await intakeApp(producer, { backlog: 11 })
    const response = await post()
    expect(response.status).toBe(503)
    expect(((await response.json()) as { detail: string }).detail).toContain('11 orders are waiting to be processed')
    expect(waiting.begin).toHaveLength(0)
    const samples = parseMetrics(await metrics.text())
    expect([total(samples, 'shop_order_backlog'), total(samples, 'shop_order_backlog_limit')]).toEqual([11, 10])
    expect(total(samples, 'shop_orders_refused_total', { reason: 'backlog' })).toBe(1)
  })
})
