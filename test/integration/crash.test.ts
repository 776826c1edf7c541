import { expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from '../harness/eventually.ts'
import { checkInvariants } from './checker.ts'
import { placeOrders, setStock } from './load.ts'
import { deployment, deploymentFlags, newPrefix, type ShopProcess } from './shop-process.ts'

const { log, spawn } = deployment('crash')

test('kill -9 of the processes running order, inventory and notifier while orders flow: every invariant holds afterwards', async () => {
  const prefix = newPrefix()
  const front = await spawn(deploymentFlags(prefix, 'api'))
  // Two workers, each restarted on its own state directory (its sqlite caches survive the kill).
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'shop-state-')))
  const everyWorker: ShopProcess[] = []
  const startWorker = async (i: number) => {
    const worker = await spawn(deploymentFlags(prefix, 'order,inventory,notifier', [], dirs[i]))
    everyWorker.push(worker)
    return worker
  }
  const workers = [await startWorker(0), await startWorker(1)]
  await Promise.all([front.ready(), ...workers.map((w) => w.ready())])

  const stock = { 'SKU-1': 2000, 'SKU-2': 1500, 'SKU-3': 1000, 'SKU-4': 500, 'SKU-5': 100 }
  await setStock(front.url, stock)
  let killing = true
  const load = placeOrders(() => front.url, { orders: 100_000, users: 200, skus: Object.keys(stock), concurrency: 4, pauseMs: 10, stop: () => !killing })

  // Each round kills one worker once it has printed notifications since its start (work in flight).
  const kills: number[] = []
  for (let round = 0; round < 4; round++) {
    const i = round % 2
    const printedBefore = workers[i].notifications().length
    await eventually(() => expect(workers[i].notifications().length).toBeGreaterThanOrEqual(printedBefore + 20), 30_000)
    workers[i].kill('SIGKILL')
    kills.push(await workers[i].exited)
    workers[i] = await startWorker(i)
    await workers[i].ready()
  }
  const before = workers[0].notifications().length + workers[1].notifications().length
  await eventually(() => expect(workers[0].notifications().length + workers[1].notifications().length).toBeGreaterThanOrEqual(before + 20), 30_000)
  killing = false
  const result = await load
  expect(kills).toEqual([137, 137, 137, 137])
  expect(result.unexpected).toEqual([])
  expect(result.refused).toEqual([])
  expect(result.unknown).toEqual([])
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
