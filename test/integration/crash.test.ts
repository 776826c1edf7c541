import { expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { topicNames } from '../../src/topology.ts'
import { checkInvariants } from './checker.ts'
import { placeOrders, setStock, settle } from './load.ts'
import { deployment, deploymentFlags, newPrefix } from './shop-process.ts'

const { log, spawn } = deployment('crash')

test('kill -9 of order/inventory processes while orders flow: every invariant holds afterwards', async () => {
  const prefix = newPrefix()
  const front = await spawn(deploymentFlags(prefix, 'api,notifier'))
  // Two workers, each restarted on its own state directory (its sqlite caches survive the kill).
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'shop-state-')))
  const startWorker = async (i: number) => {
    const worker = await spawn(deploymentFlags(prefix, 'order,inventory', [], dirs[i]))
    return worker
  }
  const workers = [await startWorker(0), await startWorker(1)]
  await Promise.all([front.ready(), ...workers.map((w) => w.ready())])

  const stock = { 'SKU-1': 2000, 'SKU-2': 1500, 'SKU-3': 1000, 'SKU-4': 500, 'SKU-5': 100 }
  await setStock(front.url, stock)
  let killing = true
  const load = placeOrders(() => front.url, { orders: 100_000, users: 200, skus: Object.keys(stock), concurrency: 4, pauseMs: 10, stop: () => !killing })

  const kills: number[] = []
  for (let round = 0; round < 4; round++) {
    const i = round % 2
    await Bun.sleep(1_500)
    workers[i].kill('SIGKILL')
    kills.push(await workers[i].exited)
    await Bun.sleep(500)
    workers[i] = await startWorker(i)
    await workers[i].ready()
  }
  await Bun.sleep(1_000)
  killing = false
  const { accepted, refused } = await load
  expect(kills).toEqual([137, 137, 137, 137])
  expect(refused).toBe(0)
  expect(accepted.length).toBeGreaterThan(200)

  const report = await settle(() => checkInvariants(log, topicNames(prefix), stock, front.notifications()), 120_000)
  expect(report.problems).toEqual([])
  expect(report.orders).toBe(accepted.length)
  console.log(`crash test: ${report.orders} orders (${report.confirmed} confirmed, ${report.failed} failed) across 4 kill -9`)

  for (const p of [front, ...workers]) p.kill('SIGTERM')
  expect(await Promise.all([front, ...workers].map((p) => p.exited))).toEqual([0, 0, 0])
}, 300_000)
