import { expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from '../harness/eventually.ts'
import { checkInvariants } from './checker.ts'
import { placeOrders, setStock, unknownOrders } from './load.ts'
import { deployment, deploymentFlags, newPrefix } from './shop-process.ts'

const { log, spawn } = deployment('shutdown')

test('SIGTERM under load: the process drains and exits 0; after a restart every order that got a 202 gets its outcome', async () => {
  const prefix = newPrefix()
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-state-'))
  const start = async () => {
    const shop = await spawn(deploymentFlags(prefix, 'api,order,inventory,notifier', [], dataDir))
    await shop.ready()
    return shop
  }
  let shop = await start()
  const stock = { 'SKU-1': 3000, 'SKU-2': 2000, 'SKU-3': 500 }
  await setStock(shop.url, stock)

  let url = shop.url
  let running = true
  const load = placeOrders(() => url, { orders: 100_000, users: 100, skus: Object.keys(stock), concurrency: 8, stop: () => !running })
  // SIGTERM once orders are flowing end to end, so the drain has work in flight.
  await eventually(() => expect(shop.notifications().length).toBeGreaterThan(100), 60_000)
  shop.kill('SIGTERM')
  expect(await shop.exited).toBe(0)
  const first = shop
  shop = await start()
  url = shop.url
  const restarted = shop
  await eventually(() => expect(restarted.notifications().length).toBeGreaterThan(50), 60_000)
  running = false
  const result = await load
  expect(first.stderr.join('\n')).toContain('"event":"shop:stop:end"')

  const report = await checkInvariants(log, { prefix, load: result, notifications: () => [...first.notifications(), ...shop.notifications()] })
  expect(report.problems).toEqual([])
  // Requests that met the draining process were refused (503) and never published; every
  // accepted order is on orders.created with exactly one outcome, notified once.
  expect(result.unexpected).toEqual([])
  expect(unknownOrders(result)).toEqual([])
  expect(report.orders).toBe(result.accepted.length)
  expect(report.repeatedNotifications).toBe(0)
  expect(result.accepted.length).toBeGreaterThan(100)

  shop.kill('SIGTERM')
  expect(await shop.exited).toBe(0)
}, 180_000)
