import { afterEach, expect, test } from 'bun:test'
import { jsonOf } from '../../src/events/envelope.ts'
import { createHmac } from 'node:crypto'
import { MemoryLog } from '../../src/kafka/memory/index.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { eventually } from '../harness/eventually.ts'
import { httpReceiver } from '../harness/receiver.ts'
import { startShop, told } from './cases.ts'

/**
 * A real HTTP receiver: answers each delivery with the next planned status (200 once the plan is
 * used up); 'hold' keeps the request open until `release()`.
 */
const received: Array<{ body: string; signature: string | null; id: string | null; status: number | 'hold' }> = []
let plan: Array<number | 'hold'> = []
let held = Promise.withResolvers<void>()
const release = () => held.resolve()
const receiver = httpReceiver(async (request) => {
  const status = plan.shift() ?? 200
  received.push({ body: await request.text(), signature: request.headers.get('x-shop-signature'), id: request.headers.get('x-shop-notification-id'), status })
  if (status === 'hold') await held.promise
  return new Response(status === 200 || status === 'hold' ? 'ok' : 'boom', { status: status === 'hold' ? 200 : status })
})

const secret = 'a-shared-secret'
const running: Array<Awaited<ReturnType<typeof startShop>>> = []
afterEach(async () => {
  release()
  for (const s of running.splice(0)) await s.shop.stop()
  received.length = 0
  held = Promise.withResolvers<void>()
})

async function shopWithWebhook() {
  const s = await startShop({ name: 'memory', busFlags: [], createLog: () => new MemoryLog(), patienceMs: 5_000 }, [
    // The order's life ends at reserved here (no payment role): one notification per order.
    '--roles=api,order,inventory,notifier',
    '--notify=console,webhook',
    `--webhook-url=${receiver.url}/hooks/orders`,
    `--webhook-secret=${secret}`,
    '--webhook-attempts=3',
    '--webhook-backoff-ms=20',
  ])
  running.push(s)
  expect((await s.call('PUT', '/stock/SKU-W', { quantity: 5 })).status).toBe(202)
  await eventually(async () => expect((await s.call('GET', '/stock/SKU-W')).status).toBe(200), 5_000)
  return s
}

/** The dead-letter records, once there is at least one. */
const deadLetters = (s: Awaited<ReturnType<typeof shopWithWebhook>>) =>
  eventually(async () => {
    const dead = await readTopic(s.log, s.topics.deadLetter)
    expect(dead.length).toBeGreaterThan(0)
    return dead
  }, 5_000)

test('the webhook sink signs its body, and retries after 500s until the receiver accepts', async () => {
  const s = await shopWithWebhook()
  plan = [500, 503]
  const placed = await s.call('POST', '/orders', { userId: 'wes', items: [{ sku: 'SKU-W', quantity: 1, unitPrice: 9.99 }], total: 9.99 })
  // The notifier commits one request to the outbox; once the delivery group has committed past
  // it, its delivery is over: nothing more can come.
  await eventually(async () => expect((await readTopic(s.log, s.topics.notificationRequests)).map((r) => JSON.parse(jsonOf(r.value!)).sink)).toEqual(['webhook']), 5_000)
  const [end] = await s.log.admin.endOffsets(s.topics.notificationRequests).then((ends) => ends.filter((e) => e > 0n))
  await eventually(async () => {
    const committed = await s.log.admin.committedOffsets(`${s.prefix}shop-delivery`)
    expect(committed.find((c) => c.topic === s.topics.notificationRequests)?.offset).toBe(end)
  }, 5_000)
  expect(received.map((r) => r.status)).toEqual([500, 503, 200])
  for (const r of received) {
    const expected = `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`
    expect(r.signature).toBe(expected)
    expect(r.id).toBe(`${placed.body.orderId}/reserved`)
    expect(JSON.parse(r.body)).toMatchObject({ orderId: placed.body.orderId, userId: 'wes', status: 'reserved' })
  }
  expect(s.notifications.map((n) => n.status)).toEqual(['reserved'])
  expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
})

test('after the attempt limit the notification goes to shop.dlq with the error; the console sink still delivers', async () => {
  const s = await shopWithWebhook()
  plan = [500, 500, 500]
  const placed = await s.call('POST', '/orders', { userId: 'wes', items: [{ sku: 'SKU-W', quantity: 9, unitPrice: 1 }], total: 9 })
  const dead = await deadLetters(s)
  expect(received.map((r) => r.status)).toEqual([500, 500, 500])
  expect(dead).toHaveLength(1)
  expect(JSON.parse(jsonOf(dead[0].value!))).toMatchObject({ orderId: placed.body.orderId, status: 'out_of_stock', sink: 'webhook' })
  expect(dead[0].headers).toMatchObject({
    'shop.dlq.topic': s.topics.notificationRequests,
    'shop.dlq.group': `${s.prefix}shop-delivery`,
    'shop.dlq.error.code': 'SHOP_DELIVERY',
  })
  expect(dead[0].headers['shop.dlq.error']).toContain('3 attempt(s) failed: HTTP 500; HTTP 500; HTTP 500')
  expect(s.notifications.map((n) => [n.orderId, n.status])).toEqual([[placed.body.orderId, 'out_of_stock']])
})

test('a 4xx answer is final: no retry, straight to shop.dlq', async () => {
  const s = await shopWithWebhook()
  plan = [410]
  await s.call('POST', '/orders', { userId: 'wes', items: [{ sku: 'SKU-W', quantity: 1, unitPrice: 1 }], total: 1 })
  const dead = await deadLetters(s)
  expect(received.map((r) => r.status)).toEqual([410])
  expect(dead[0].headers['shop.dlq.error']).toContain('HTTP 410')
})

test('a receiver that hangs holds up only its own deliveries: later orders of the same partition are still decided and told on the console', async () => {
  const s = await shopWithWebhook()
  plan = ['hold']
  const first = await s.call('POST', '/orders', { userId: 'wes', items: [{ sku: 'SKU-W', quantity: 1, unitPrice: 1 }], total: 1 })
  await eventually(() => expect(received.map((r) => r.id)).toEqual([`${first.body.orderId}/reserved`]), 5_000)
  // Same user, so the same partition of order.status, while the receiver still holds the first delivery.
  const second = await s.call('POST', '/orders', { userId: 'wes', items: [{ sku: 'SKU-W', quantity: 2, unitPrice: 1 }], total: 2 })
  await eventually(() => expect(told(s, 'reserved').map((n) => n.orderId)).toEqual([first.body.orderId, second.body.orderId]), 5_000)
  expect(received).toHaveLength(1)
  release()
  await eventually(() => expect(received.map((r) => r.id)).toEqual([`${first.body.orderId}/reserved`, `${second.body.orderId}/reserved`]), 5_000)
  expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
})
