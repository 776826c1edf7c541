import { expect, test } from 'bun:test'
import { runtime } from '../../src/runtime/index.ts'
import { checkInvariants } from './checker.ts'
import { placeOrders, setStock } from './load.ts'
import { deployment, deploymentFlags, newPrefix, type ShopProcess } from './shop-process.ts'

const { log, spawn } = deployment('scale-out')

test('scale-out: two processes share the order and inventory partitions; 1,200 racing orders, no SKU oversold, one outcome each', async () => {
  const prefix = newPrefix()
  const first = await spawn(deploymentFlags(prefix, 'api,order,inventory,notifier'))
  const second = await spawn(deploymentFlags(prefix, 'order,inventory'))
  await Promise.all([first.ready(), second.ready()])
  // Under `deno test`, the processes run on Deno too.
  expect([first.runtime, second.runtime]).toEqual([runtime.name, runtime.name])

  const stock = { 'SKU-1': 150, 'SKU-2': 150, 'SKU-3': 100, 'SKU-4': 60, 'SKU-5': 40 }
  await setStock(first.url, stock)
  const load = await placeOrders(() => first.url, { orders: 1200, users: 150, skus: Object.keys(stock), concurrency: 24 })
  expect([load.refused, load.unknown, load.unexpected]).toEqual([[], [], []])
  expect(load.accepted).toHaveLength(1200)

  const report = await checkInvariants(log, { prefix, load, notifications: () => first.notifications() })
  expect(report.problems).toEqual([])
  expect(report.repeatedNotifications).toBe(0)
  expect(report.orders).toBe(1200)
  expect(report.confirmed).toBeGreaterThan(0)
  expect(report.failed).toBeGreaterThan(0)

  // Both processes really did the work: each restored (owned) some inventory partitions.
  const owned = (p: ShopProcess) =>
    p.stderr.filter((l) => l.includes('actor:store:restored') && l.includes(`${prefix}shop-inventory`)).length
  expect(owned(first)).toBeGreaterThan(0)
  expect(owned(second)).toBeGreaterThan(0)

  second.kill('SIGTERM')
  first.kill('SIGTERM')
  expect(await Promise.all([first.exited, second.exited])).toEqual([0, 0])
}, 240_000)
