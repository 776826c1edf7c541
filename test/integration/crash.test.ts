import { expect, test } from 'bun:test'
import { jsonOf } from '../../src/events/envelope.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from '../harness/eventually.ts'
import { checkInvariants, waitUntilIdle } from './checker.ts'
import { placeOrders, setStock, unknownOrders } from './load.ts'
import { deployment, deploymentFlags, newPrefix, type ShopProcess } from './shop-process.ts'
import { httpReceiver } from '../harness/receiver.ts'
import { random } from '../harness/random.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { topicNames } from '../../src/topology.ts'
import { finalStatuses as final } from '../../schemas/lifecycle.ts'
import { sleep } from '../../src/time.ts'

const { log, spawn } = deployment('crash')

/**
 * Kills one of `workers` with SIGKILL per round, alternately, once it has printed notifications
 * since its start (work in flight), and starts it again on its state directory. Returns the exit codes.
 */
async function killRounds(workers: ShopProcess[], restart: (i: number) => Promise<ShopProcess>, rounds: number): Promise<number[]> {
  const kills: number[] = []
  for (let round = 0; round < rounds; round++) {
    const i = round % workers.length
    const printedBefore = workers[i].notifications().length
    await eventually(() => expect(workers[i].notifications().length).toBeGreaterThanOrEqual(printedBefore + 20), 30_000)
    workers[i].kill('SIGKILL')
    kills.push(await workers[i].exited)
    workers[i] = await restart(i)
    await workers[i].ready()
  }
  const printed = () => workers.reduce((n, w) => n + w.notifications().length, 0)
  const before = printed()
  await eventually(() => expect(printed()).toBeGreaterThanOrEqual(before + 20), 30_000)
  return kills
}

/**
 * Two worker processes running `roles`, each (re)started by `start(i)` on its own state directory
 * (its sqlite caches survive a kill); `everyWorker` holds every process started, killed ones too.
 */
async function twoWorkers(prefix: string, roles: string, extra: string[] = []) {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'shop-state-')))
  const everyWorker: ShopProcess[] = []
  const start = async (i: number) => {
    const worker = await spawn(deploymentFlags(prefix, roles, extra, dirs[i]))
    everyWorker.push(worker)
    return worker
  }
  return { workers: [await start(0), await start(1)], start, everyWorker }
}

test('kill -9 of the processes running order, inventory and notifier while orders flow: every invariant holds afterwards', async () => {
  const prefix = newPrefix()
  const front = await spawn(deploymentFlags(prefix, 'api'))
  const { workers, start: startWorker, everyWorker } = await twoWorkers(prefix, 'order,inventory,notifier')
  await Promise.all([front.ready(), ...workers.map((w) => w.ready())])

  const stock = { 'SKU-1': 2000, 'SKU-2': 1500, 'SKU-3': 1000, 'SKU-4': 500, 'SKU-5': 100 }
  await setStock(front.url, stock)
  let killing = true
  const load = placeOrders(() => front.url, { orders: 100_000, users: 200, skus: Object.keys(stock), concurrency: 4, pauseMs: 10, stop: () => !killing })

  const kills = await killRounds(workers, startWorker, 4)
  killing = false
  const result = await load
  expect(kills).toEqual([137, 137, 137, 137])
  expect(result.unexpected).toEqual([])
  expect(result.refused).toEqual([])
  expect(unknownOrders(result)).toEqual([])
  expect(result.accepted.length).toBeGreaterThan(200)

  const report = await checkInvariants(log, { prefix, load: result, notifications: () => everyWorker.flatMap((w) => w.notifications()) })
  expect(report.problems).toEqual([])
  expect(report.orders).toBe(result.accepted.length)
  console.log(
    `crash test: ${report.orders} orders (${report.confirmed} confirmed, ${report.failed} failed) across 4 kill -9; ` +
      `${report.repeatedNotifications} notifications printed again by the process that took over a killed notifier's partitions`,
  )

  for (const p of [front, ...workers]) p.kill('SIGTERM')
  expect(await Promise.all([front, ...workers].map((p) => p.exited))).toEqual([0, 0, 0])
}, 300_000)

/**
 * A payment provider for the lifecycle test: performs each idempotency key once (a repeat answers
 * as the first call did), declines charges above 4.00 with 402, and takes up to 20 ms per call so
 * that calls are in flight when a process is killed.
 */
const performed = new Map<string, number>()
const provider = httpReceiver(async (request) => {
  const key = request.headers.get('idempotency-key') ?? ''
  const { amount } = (await request.json()) as { amount: number }
  await sleep(Math.floor(Math.random() * 20))
  if (key.startsWith('charge:') && amount > 4) return Response.json({ reason: 'card_declined' }, { status: 402 })
  if (!performed.has(key)) performed.set(key, amount)
  return Response.json({ id: `pay_${key}` })
})

test('kill -9 of the processes running payment, notifier and the rest of an order\'s life, with cancels, while orders flow: each order ends once, is charged at most once as the provider records it, and the read model equals the topics', async () => {
  const prefix = newPrefix()
  const life = [`--payment-provider=http`, `--payment-url=${provider.url}`, '--payment-backoff-ms=20', '--payment-attempts=30', '--warehouse-pick-ms=5']
  // The api and the projector share a process (and so the sqlite read model the checker reads through GET /orders/{id}).
  const front = await spawn(deploymentFlags(prefix, 'api,projector'))
  const { workers, start: startWorker, everyWorker } = await twoWorkers(prefix, 'order,inventory,payment,warehouse,shipper,notifier', life)
  await Promise.all([front.ready(), ...workers.map((w) => w.ready())])

  const stock = { 'SKU-1': 2000, 'SKU-2': 2000, 'SKU-3': 1500, 'SKU-4': 1000, 'SKU-5': 30 }
  await setStock(front.url, stock)
  let killing = true
  const accepted: string[] = []
  const load = placeOrders(() => front.url, { orders: 100_000, users: 200, skus: Object.keys(stock), concurrency: 4, pauseMs: 10, stop: () => !killing, onAccepted: (id) => accepted.push(id) })
  // Customers cancel some orders at whatever step they are.
  const next = random(7)
  const cancels = { accepted: 0, done: 0, refused: 0, other: [] as string[] }
  const cancelling = (async () => {
    while (killing) {
      await sleep(100)
      const id = accepted[Math.floor(next() * accepted.length)]
      if (!id) continue
      const answer = await fetch(`${front.url}/orders/${id}/cancel`, { method: 'POST' })
      const text = await answer.text()
      // 202 taken, 200 cancelled already (the same order drawn twice), 409 too late (shipped or failed).
      if (answer.status === 202) cancels.accepted++
      else if (answer.status === 200 && JSON.parse(text).cancel === 'done') cancels.done++
      else if (answer.status === 409) cancels.refused++
      else cancels.other.push(`${answer.status} ${text}`)
    }
  })()

  const kills = await killRounds(workers, startWorker, 4)
  killing = false
  const [result] = await Promise.all([load, cancelling])
  expect(kills).toEqual([137, 137, 137, 137])
  expect(result.unexpected).toEqual([])
  expect(result.refused).toEqual([])
  expect(unknownOrders(result)).toEqual([])
  expect(cancels.other).toEqual([])
  expect(cancels.accepted).toBeGreaterThan(0)

  const report = await checkInvariants(log, {
    prefix,
    load: result,
    notifications: () => everyWorker.flatMap((w) => w.notifications()),
    groups: ['order', 'inventory', 'payment', 'warehouse', 'shipper', 'notifier', 'delivery', 'projector'],
    lifecycle: { performed, apiUrl: front.url },
    idleWithinMs: 180_000,
  })
  expect(report.problems).toEqual([])
  expect(report.orders).toBe(result.accepted.length)
  const ends = await finalStatuses(prefix)
  // The run covered every end of an order's life.
  for (const end of ['shipped', 'out_of_stock', 'payment_failed', 'cancelled']) expect([end, (ends.get(end) ?? 0) > 0]).toEqual([end, true])
  console.log(
    `lifecycle crash test: ${report.orders} orders across 4 kill -9 (${[...ends].map(([s, n]) => `${n} ${s}`).join(', ')}); ` +
      `${cancels.accepted} cancels taken, ${cancels.done} already done, ${cancels.refused} refused; ${[...performed.keys()].filter((k) => k.startsWith('charge:')).length} charges and ` +
      `${[...performed.keys()].filter((k) => k.startsWith('refund:')).length} refunds performed; ${report.repeatedNotifications} notifications printed again`,
  )

  for (const p of [front, ...workers]) p.kill('SIGTERM')
  expect(await Promise.all([front, ...workers].map((p) => p.exited))).toEqual([0, 0, 0])
}, 420_000)

/** How many orders of the run ended in each final status. */
async function finalStatuses(prefix: string): Promise<Map<string, number>> {
  const ends = new Map<string, number>()
  for (const record of await readTopic(log, topicNames(prefix).orderStatus)) {
    const change = JSON.parse(jsonOf(record.value!)) as { status: string; note?: string }
    if (change.note === undefined && final.has(change.status as never)) ends.set(change.status, (ends.get(change.status) ?? 0) + 1)
  }
  return ends
}

/** Orders per minute as the topics say, computed here without the aggregator: each order once, by its createdAt. */
async function windowsFromTopics(prefix: string) {
  const t = topicNames(prefix)
  const payloads = async (topic: string) => (await readTopic(log, topic)).map((r) => JSON.parse(jsonOf(r.value!)))
  const placed = new Map<string, { at: number; currency: string }>()
  for (const o of await payloads(t.ordersCreated)) if (!placed.has(o.orderId)) placed.set(o.orderId, { at: Date.parse(o.createdAt), currency: o.currency ?? 'EUR' })
  const windows = new Map<string, { orders: number; confirmed: number; failed: number; revenueCents: Record<string, number> }>()
  const windowOf = (orderId: string) => {
    const start = new Date(Math.floor(placed.get(orderId)!.at / 60_000) * 60_000).toISOString()
    if (!windows.has(start)) windows.set(start, { orders: 0, confirmed: 0, failed: 0, revenueCents: {} })
    return windows.get(start)!
  }
  for (const id of placed.keys()) windowOf(id).orders++
  for (const r of await payloads(t.reserved)) {
    windowOf(r.orderId).confirmed++
    const cents = windowOf(r.orderId).revenueCents
    const { currency } = placed.get(r.orderId)!
    cents[currency] = (cents[currency] ?? 0) + Math.round(r.total * 100)
  }
  for (const f of await payloads(t.failed)) windowOf(f.orderId).failed++
  const counts = new Map([...windows].map(([start, w]) => [start, { orders: w.orders, confirmed: w.confirmed, failed: w.failed, revenue: Object.fromEntries(Object.entries(w.revenueCents).map(([c, cents]) => [c, cents / 100])) }]))
  const latest = Math.max(...[...placed.values()].map((p) => p.at))
  return { counts, placed: new Set(placed.keys()), latest }
}

test('kill -9 of the aggregator processes while orders flow: every window holds exactly the counts the topics give, and closed windows are final', async () => {
  const prefix = newPrefix()
  const t = topicNames(prefix)
  // The default grace (10 s) although a killed aggregator's partitions come back seconds later (the
  // session timeout, a restore): a window waits for every source partition that is not idle, so
  // none of their records is late. Sources idle after 1 s, so that the windows close soon once
  // the orders stop.
  const front = await spawn(deploymentFlags(prefix, 'api,order,inventory'))
  const { workers, start } = await twoWorkers(prefix, 'aggregator', ['--aggregator-idle-ms=1000'])
  await Promise.all([front.ready(), ...workers.map((w) => w.ready())])
  await setStock(front.url, { 'SKU-1': 3000, 'SKU-2': 200 })
  let loading = true
  const load = placeOrders(() => front.url, { orders: 100_000, users: 200, skus: ['SKU-1', 'SKU-2'], concurrency: 4, pauseMs: 10, stop: () => !loading })

  // Each round kills one aggregator once windows were written since it started (work in flight).
  const written = async () => (await log.admin.endOffsets(t.orderRate)).reduce((sum, end) => sum + end, 0n)
  const kills: number[] = []
  for (let round = 0; round < 4; round++) {
    const i = round % 2
    const before = await written()
    await eventually(async () => expect(await written()).toBeGreaterThan(before + 50n), 60_000)
    workers[i].kill('SIGKILL')
    kills.push(await workers[i].exited)
    workers[i] = await start(i)
    await workers[i].ready()
  }
  // Orders keep coming until a window has closed (stream time past a minute's end and the grace).
  const rate = async () => new Map((await readTopic(log, t.orderRate)).map((r) => [r.key!, JSON.parse(jsonOf(r.value!))]))
  await eventually(async () => expect([...(await rate()).values()].some((w) => w.final)).toBe(true), 120_000, 500)
  loading = false
  const result = await load
  expect(kills).toEqual([137, 137, 137, 137])
  expect(result.unexpected).toEqual([])
  await waitUntilIdle(log, prefix, 120_000, ['order', 'inventory', 'aggregator', 'aggregator-windows'])

  const { counts: expected, placed, latest } = await windowsFromTopics(prefix)
  expect(result.accepted.filter((id) => !placed.has(id))).toEqual([])
  // Once every source is idle, the watermark is the latest order time: exactly the windows whose
  // end plus the grace it has passed are final.
  const closed = (start: string) => Date.parse(start) + 60_000 + 10_000 <= latest
  const windows = await eventually(async () => {
    const now = await rate()
    expect([...now].sort(([a], [b]) => a.localeCompare(b)).map(([start, w]) => ({ start, final: w.final }))).toEqual([...expected.keys()].sort().map((start) => ({ start, final: closed(start) })))
    return now
  }, 30_000, 500)
  for (const [start, w] of windows) {
    const { orders, confirmed, failed, revenue, late } = w
    expect({ start, orders, confirmed, failed, revenue, late }).toEqual({ start, ...expected.get(start)!, late: 0 })
  }
  expect(await readTopic(log, t.deadLetter)).toEqual([])
  const orders = placed.size
  console.log(`aggregator crash test: ${orders} orders in ${expected.size} windows across 4 kill -9`)
  for (const p of [front, ...workers]) p.kill('SIGTERM')
  expect(await Promise.all([front, ...workers].map((p) => p.exited))).toEqual([0, 0, 0])
}, 420_000)
