import { afterAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { eventually } from '../harness/eventually.ts'
import { scrape, total } from '../harness/metrics.ts'
import { type ReceivedSpan, otlpReceiver } from '../harness/otlp.ts'
import { httpReceiver } from '../harness/receiver.ts'
import { ShopProcess } from '../harness/shop-process.ts'
import { setStock } from '../harness/stock.ts'
import { deployment, deploymentFlags, newPrefix } from './shop-process.ts'
import { sleep } from '../../src/time.ts'

/**
 * Traces, as a collector receives them from running `shop` processes: one order's whole life is
 * one trace whose spans read as a chain, from the client's traceparent to the webhook call.
 */

const collector = otlpReceiver()
afterAll(() => collector.stop())

/** What the webhook receiver was called with: the notification id and the traceparent header. */
const hooks: Array<{ id: string | null; traceparent: string | null }> = []
const webhook = httpReceiver((request) => {
  hooks.push({ id: request.headers.get('x-shop-notification-id'), traceparent: request.headers.get('traceparent') })
  return new Response('ok')
})

const { spawn } = deployment('tracing')
const processes: ShopProcess[] = []
afterAll(() => processes.forEach((p) => p.kill('SIGKILL')))

const tracingEnv = (service: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
  OTEL_SERVICE_NAME: service,
  OTEL_BSP_SCHEDULE_DELAY: '100',
  ...extra,
})
const lifeFlags = () => ['--notify=console,webhook', `--webhook-url=${webhook.url}/hooks`, '--webhook-secret=s', '--warehouse-pick-ms=1', '--log-level=debug']

/** The spans of an order's shipped notification, from the webhook call up to the root: [kind, name]. */
const shippedChain = [
  ['client', 'POST'],
  ['internal', 'notify webhook'],
  ['consumer', 'process notification.requests'],
  ['producer', 'send notification.requests'],
  ['consumer', 'process order.status'],
  ['producer', 'send order.status'],
  ['consumer', 'process order.shipped'],
  ['producer', 'send order.shipped'],
  ['consumer', 'process shipping.requests'],
  ['producer', 'send shipping.requests'],
  ['consumer', 'process order.packed'],
  ['producer', 'send order.packed'],
  ['consumer', 'process warehouse.requests'],
  ['producer', 'send warehouse.requests'],
  ['consumer', 'process payment.processed'],
  ['producer', 'send payment.processed'],
  ['consumer', 'process payment.requests'],
  ['producer', 'send payment.requests'],
  ['consumer', 'process inventory.line-results'],
  ['producer', 'send inventory.line-results'],
  ['consumer', 'process inventory.requests'],
  ['producer', 'send inventory.requests'],
  ['consumer', 'process orders.created'],
  ['producer', 'send orders.created'],
  ['server', 'POST /orders'],
]

/** The consumer group that processes each topic in the chain. */
const groupOf: Record<string, string> = {
  'orders.created': 'order',
  'inventory.requests': 'inventory',
  'inventory.line-results': 'order',
  'payment.requests': 'payment',
  'payment.processed': 'order',
  'warehouse.requests': 'warehouse',
  'order.packed': 'order',
  'shipping.requests': 'shipper',
  'order.shipped': 'order',
  'order.status': 'notifier',
  'notification.requests': 'delivery',
}

/**
 * Places one order with a client traceparent, waits for its shipped notification's webhook call,
 * and checks its trace: the chain from that call up to the client, each hop's messaging
 * attributes, the batch span of the first hop, and the log line of a batch naming its span.
 */
async function checkOneOrderTrace(api: ShopProcess, workers: ShopProcess[], prefix: string, services: { api: string; worker: string }) {
  await setStock(api.url, { 'SKU-T': 10 })
  const client = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') }
  const placed = await fetch(`${api.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${client.traceId}-${client.spanId}-01` },
    body: JSON.stringify({ userId: 'trace-user', items: [{ sku: 'SKU-T', quantity: 2, unitPrice: 1.5 }], total: 3 }),
  })
  expect(placed.status).toBe(202)
  const { orderId } = (await placed.json()) as { orderId: string }

  // The webhook call of the shipped notification carries the trace on: its traceparent names the CLIENT span.
  const call = await eventually(() => {
    const found = hooks.find((h) => h.id === `${orderId}/shipped`)
    if (!found) throw new Error(`no webhook call for ${orderId}/shipped yet`)
    return found
  }, 60_000, 100)
  const [, traceId, callSpanId] = call.traceparent!.split('-')
  expect(traceId).toBe(client.traceId)
  const byId = () => new Map(collector.spans.map((s) => [s.spanId, s]))
  // Each process exports its spans in the background: wait until the chain is complete.
  const chain = await eventually(() => {
    const spans = byId()
    const path: ReceivedSpan[] = []
    for (let span = spans.get(callSpanId); span; span = spans.get(span.parentSpanId)) path.push(span)
    expect(path.map((s) => [s.kind, s.name])).toEqual(shippedChain.map(([kind, name]) => [kind, name.replace(/^(send|process) /, `$1 ${prefix}`)]))
    return path
  }, 30_000, 100)

  expect(chain.every((s) => s.traceId === client.traceId)).toBe(true)
  const server = chain.at(-1)!
  expect(server.parentSpanId).toBe(client.spanId)
  expect(server.service).toBe(services.api)
  expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 202, 'shop.order.id': orderId })
  for (const span of chain.filter((s) => s.kind === 'consumer')) {
    const topic = span.name.slice(`process ${prefix}`.length)
    expect([span.name, span.service, span.attributes]).toEqual([
      span.name,
      services.worker,
      expect.objectContaining({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': `${prefix}${topic}`,
        'messaging.consumer.group.name': `${prefix}shop-${groupOf[topic]}`,
        'messaging.destination.partition.id': expect.stringMatching(/^\d+$/),
        'messaging.kafka.offset': expect.any(Number),
      }),
    ])
  }
  // A send span ends once its transaction committed, knowing where its record landed.
  for (const span of chain.filter((s) => s.kind === 'producer')) {
    expect([span.name, span.attributes['messaging.destination.partition.id'], span.attributes['messaging.kafka.offset']]).toEqual([span.name, expect.stringMatching(/^\d+$/), expect.any(Number)])
  }
  const firstHop = chain.at(-3)!
  expect(firstHop.attributes['messaging.kafka.message.key']).toBe('trace-user')
  expect(chain.at(-2)!.attributes['messaging.kafka.message.key']).toBe('trace-user')

  // The record's process span links to its batch's span, which links to every record's creation context.
  expect(firstHop.links.length).toBe(1)
  const batch = await eventually(() => {
    const found = byId().get(firstHop.links[0].spanId)
    if (!found) throw new Error('the batch span is not exported yet')
    return found
  }, 30_000, 100)
  expect([batch.kind, batch.name, batch.parentSpanId]).toEqual(['consumer', `process ${prefix}orders.created`, ''])
  expect(batch.links).toContainEqual({ traceId: client.traceId, spanId: chain.at(-2)!.spanId })
  expect(batch.attributes['messaging.batch.message_count']).toBe(batch.links.length)

  // A log line written in that batch names its trace and span.
  const lines = workers.flatMap((w) => w.logLines())
  expect(lines.filter((l) => l.event === 'actor:batch:committed' && l.span_id === batch.spanId).map((l) => l.trace_id)).toEqual([batch.traceId])
}


describe('on the memory bus (one process, http/json)', () => {
  test('one order is one trace: POST /orders (continuing the client\'s traceparent) -> every Kafka hop of its life -> the webhook call, which passes traceparent on', async () => {
    const shop = await ShopProcess.spawn(['--http-port=0', ...lifeFlags()], { env: tracingEnv('shop-embedded', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }) })
    processes.push(shop)
    await shop.ready()
    await checkOneOrderTrace(shop, [shop], '', { api: 'shop-embedded', worker: 'shop-embedded' })
    expect(collector.contentTypes.length).toBeGreaterThan(0)
    expect(new Set(collector.contentTypes)).toEqual(new Set(['application/json']))
    expect(total(await scrape(shop.url), 'shop_trace_spans_total', { result: 'failed' })).toBe(0)
    shop.kill('SIGTERM')
    expect(await shop.exited).toBe(0)
  }, 120_000)

  test('an unreachable collector breaks nothing: every order is still decided and told, failed exports are counted, logged once, and the process stops cleanly', async () => {
    const shop = await ShopProcess.spawn(['--http-port=0', '--roles=api,order,inventory,notifier', '--log-level=info'], {
      env: { ...tracingEnv('shop-embedded'), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
    })
    processes.push(shop)
    await shop.ready()
    await setStock(shop.url, { 'SKU-U': 1_000 })
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${shop.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: `u${i}`, items: [{ sku: 'SKU-U', quantity: 1, unitPrice: 1 }], total: 1 }) })
      expect(res.status).toBe(202)
      ids.push(((await res.json()) as { orderId: string }).orderId)
      await sleep(100)
    }
    await eventually(() => expect(shop.notifications().filter((n) => n.status === 'reserved').map((n) => n.orderId).sort()).toEqual(ids.sort()), 30_000, 100)
    // Several exports failed (each 100 ms), and one line says so.
    const failed = await eventually(async () => {
      const samples = await scrape(shop.url)
      expect(total(samples, 'shop_trace_spans_total', { result: 'exported' })).toBe(0)
      const n = total(samples, 'shop_trace_spans_total', { result: 'failed' })
      const logged = shop.logLines().filter((l) => l.event === 'tracing:export:failed')
      expect(logged.length).toBe(1)
      expect(n).toBeGreaterThan(logged[0].spans)
      return n
    }, 30_000, 200)
    expect(failed).toBeGreaterThan(0)
    shop.kill('SIGTERM')
    expect(await shop.exited).toBe(0)
  }, 120_000)
})

describe('on Kafka (an api process and a worker process, http/protobuf)', () => {
  test('one order is one trace across both processes: traceparent travels in the records\' headers through every hop', async () => {
    const prefix = newPrefix()
    const api = await spawn(deploymentFlags(prefix, 'api'), { env: tracingEnv('shop-api') })
    const worker = await spawn(deploymentFlags(prefix, 'order,inventory,payment,warehouse,shipper,notifier', lifeFlags()), { env: tracingEnv('shop-worker') })
    await Promise.all([api.ready(), worker.ready()])
    const before = collector.contentTypes.length
    await checkOneOrderTrace(api, [worker], prefix, { api: 'shop-api', worker: 'shop-worker' })
    expect(new Set(collector.contentTypes.slice(before))).toEqual(new Set(['application/x-protobuf']))
    for (const p of [worker, api]) {
      p.kill('SIGTERM')
      expect(await p.exited).toBe(0)
    }
  }, 180_000)
})
