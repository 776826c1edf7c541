import { describe, expect, test } from 'bun:test'
import { eventually } from '../harness/eventually.ts'
import { type BrokerAction, controlBroker } from './broker.ts'
import { checkInvariants } from './checker.ts'
import { placeOrders, setStock } from './load.ts'
import { deployment, deploymentFlags, newPrefix, type ShopProcess } from './shop-process.ts'
import { sleep } from '../../src/time.ts'

const { log, spawn } = deployment('broker-faults')
const broker = controlBroker as (action: BrokerAction) => Promise<void>

/** How long POST /orders waits for the broker in these runs; every answer must come by then. */
const acceptTimeoutMs = 3_000

const readyz = async (p: ShopProcess) => (await fetch(`${p.url}/readyz`)).status

/**
 * The deployment a new user would run (an `api` process and an `order,inventory,notifier`
 * process) under steady load while `fault` acts on the broker. Afterwards both processes must be
 * the same ones (never exited), ready again, and processing; the checker then links every id the
 * clients saw to what the topics hold.
 */
async function underFault(name: string, fault: (api: ShopProcess, worker: ShopProcess) => Promise<void>) {
  const prefix = newPrefix()
  const api = await spawn(deploymentFlags(prefix, 'api', [`--accept-timeout-ms=${acceptTimeoutMs}`]))
  const worker = await spawn(deploymentFlags(prefix, 'order,inventory,notifier'))
  await Promise.all([api.ready(), worker.ready()])
  const stock = { 'SKU-1': 3000, 'SKU-2': 2000, 'SKU-3': 500, 'SKU-4': 100 }
  await setStock(api.url, stock)
  let running = true
  const load = placeOrders(() => api.url, { orders: 1_000_000, users: 100, skus: Object.keys(stock), concurrency: 4, pauseMs: 5, stop: () => !running, timeoutMs: acceptTimeoutMs + 2_000 })
  await eventually(() => expect(worker.notifications().length).toBeGreaterThan(50), 30_000)

  await fault(api, worker)

  await Promise.all([api.ready(120_000), worker.ready(120_000)])
  const before = worker.notifications().length
  await eventually(() => expect(worker.notifications().length).toBeGreaterThan(before + 50), 60_000)
  running = false
  const result = await load
  expect([api.proc.exitCode, worker.proc.exitCode]).toEqual([null, null])
  expect(result.unexpected).toEqual([])
  // Every request is answered within --accept-timeout-ms, whatever the broker does.
  expect(result.unanswered).toEqual([])

  const report = await checkInvariants(log, { prefix, load: result, notifications: () => worker.notifications() })
  expect(report.problems).toEqual([])
  expect(report.orders).toBeGreaterThanOrEqual(result.accepted.length)
  expect(report.orders).toBeLessThanOrEqual(result.accepted.length + result.unknown.length)
  // One notifier process that never died: a batch handled again after a failed commit does not
  // print again.
  expect(report.repeatedNotifications).toBe(0)
  console.log(
    `${name}: ${result.accepted.length} accepted, ${result.refused.length} refused (none published), ` +
      `${result.unknown.length} without a certain answer (${report.orders - result.accepted.length} of them placed); ` +
      `${report.orders} orders, ${report.republished} republished, ${report.repeatedNotifications} notifications repeated; ` +
      `worker restarts of actors: ${worker.stderr.filter((l) => l.includes('"event":"actor:restart"')).length}`,
  )
  api.kill('SIGTERM')
  worker.kill('SIGTERM')
  expect(await Promise.all([api.exited, worker.exited])).toEqual([0, 0])
}

/** While the broker is away: the api says not ready, answers 503 with Retry-After within its deadline, and lives. */
async function duringOutage(api: ShopProcess, worker: ShopProcess) {
  await eventually(async () => expect(await readyz(api)).toBe(503), 30_000, 200)
  const started = performance.now()
  const refused = await fetch(`${api.url}/orders`, {
    method: 'POST',
    body: JSON.stringify({ userId: 'probe', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1 }], total: 1 }),
    headers: { 'content-type': 'application/json' },
  })
  expect(refused.status).toBe(503)
  expect(refused.headers.get('retry-after')).toBe('1')
  expect(performance.now() - started).toBeLessThan(acceptTimeoutMs + 1_000)
  const body = await refused.text()
  expect(body).not.toContain('127.0.0.1')
  expect((await fetch(`${api.url}/healthz`)).status).toBe(200)
  expect([api.proc.exitCode, worker.proc.exitCode]).toEqual([null, null])
}

describe.skipIf(typeof controlBroker === 'string')(`broker faults under load${typeof controlBroker === 'string' ? ` (skipped: ${controlBroker})` : ''}`, () => {
  test('the broker paused (SIGSTOP) for 60 s', async () => {
    await underFault('pause 60 s', async (api, worker) => {
      await broker('pause')
      const resumeAt = Date.now() + 60_000
      try {
        await duringOutage(api, worker)
        await sleep(Math.max(0, resumeAt - Date.now()))
        expect([api.proc.exitCode, worker.proc.exitCode]).toEqual([null, null])
      } finally {
        await broker('resume')
      }
    })
  }, 400_000)

  test('the broker killed (kill -9) and started again', async () => {
    await underFault('kill -9', async (api, worker) => {
      await broker('kill')
      try {
        await duringOutage(api, worker)
      } finally {
        await broker('up')
      }
    })
  }, 400_000)

  test('a clean broker restart', async () => {
    await underFault('clean restart', async () => {
      await broker('restart')
    })
  }, 400_000)
})
