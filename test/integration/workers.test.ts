import { expect, test } from 'bun:test'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from '../harness/eventually.ts'
import { scrape, total } from '../harness/metrics.ts'
import type { MetricsJson } from '../../src/observability/metrics.ts'
import { controlBroker } from './broker.ts'
import { checkInvariants, waitUntilIdle } from './checker.ts'
import { placeOrders, setStock, unknownOrders } from './load.ts'
import { deployment, deploymentFlags, newPrefix, type ShopProcess } from './shop-process.ts'

const { log, spawn } = deployment('workers')

/** The tree's log lines of one event, in order (the workers write to their supervisor's stderr). */
const logged = (shop: ShopProcess, event: string) => shop.logLines().filter((entry) => entry.event === event)

/** The workers a supervisor started, in order, as its `worker:start` log lines name them. */
const started = (shop: ShopProcess): Array<{ worker: string; pid: number }> =>
  logged(shop, 'worker:start').map((entry) => ({ worker: entry.worker as string, pid: entry.pid as number }))

/** The pid each worker runs as now (the last one started under its name). */
const current = (shop: ShopProcess) => new Map(started(shop).map((s) => [s.worker, s.pid]))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A worker's own metrics, read at the loopback address it announced in its data directory. */
async function workerMetrics(dataDir: string, worker: string) {
  const url = readFileSync(join(dataDir, worker, 'worker.url'), 'utf8').trim()
  return scrape(url)
}

test('--workers=2: two worker processes share the consuming roles\' partitions; one killed -9 under load is restarted by its supervisor; every order has one outcome', async () => {
  const prefix = newPrefix()
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-state-'))
  const shop = await spawn(deploymentFlags(prefix, 'api,order,inventory,notifier', ['--workers=2'], dataDir))
  await shop.ready()
  const workers = current(shop)
  expect([...workers.keys()].sort()).toEqual(['worker-0', 'worker-1'])
  expect(new Set([shop.proc.pid, ...workers.values()]).size).toBe(3)
  // Each waited at the start gate until both were there, then joined its groups.
  const gate = () => logged(shop, 'worker:gate').map((entry) => ({ pid: entry.pid, arrived: entry.arrived, workers: entry.workers }))
  expect(gate().sort((a, b) => Number(a.pid) - Number(b.pid))).toEqual([...workers.values()].sort((a, b) => a - b).map((pid) => ({ pid, arrived: 2, workers: 2 })))

  const stock = { 'SKU-1': 1500, 'SKU-2': 1000, 'SKU-3': 800, 'SKU-4': 300, 'SKU-5': 100 }
  await setStock(shop.url, stock)
  let placing = true
  const load = placeOrders(() => shop.url, { orders: 100_000, users: 200, skus: Object.keys(stock), concurrency: 4, pauseMs: 5, stop: () => !placing })

  // Work in flight, then a worker killed: its supervisor starts it again, on its own data directory.
  await eventually(() => expect(shop.notifications().length).toBeGreaterThanOrEqual(50), 60_000)
  const killed = workers.get('worker-0')!
  process.kill(killed, 'SIGKILL')
  await eventually(() => expect(current(shop).get('worker-0')).not.toBe(killed), 30_000)
  await shop.ready()
  const printed = shop.notifications().length
  await eventually(() => expect(shop.notifications().length).toBeGreaterThanOrEqual(printed + 50), 60_000)
  placing = false
  const result = await load
  expect([result.refused, unknownOrders(result), result.unexpected]).toEqual([[], [], []])

  // The worker's SIGKILL is the only restart; the restarted worker did not wait at the gate for a sibling long past it.
  expect(started(shop).map((s) => s.worker).sort()).toEqual(['worker-0', 'worker-0', 'worker-1'])
  expect(gate().length).toBe(2)
  const report = await checkInvariants(log, { prefix, load: result, notifications: () => shop.notifications() })
  expect(report.problems).toEqual([])
  expect(report.orders).toBe(result.accepted.length)

  // Both workers did the work, and the supervisor's /metrics is the sum of its workers' (nothing
  // moves now: the pipeline is idle), with the restart its own supervisor counted.
  await waitUntilIdle(log, prefix, 60_000)
  const [own, first, second] = await Promise.all([scrape(shop.url), workerMetrics(dataDir, 'worker-0'), workerMetrics(dataDir, 'worker-1')])
  for (const group of ['order', 'inventory', 'notifier']) {
    const records = [first, second].map((samples) => total(samples, 'shop_actor_records_total', { group }))
    expect(records.every((n) => n > 0)).toBe(true)
    expect(total(own, 'shop_actor_records_total', { group })).toBe(records[0] + records[1])
  }
  expect(total(own, 'shop_actor_restarts_total', { actor: 'worker' })).toBe(1)
  expect(total(own, 'shop_role_ready', { role: 'order' })).toBe(1)
  // The JSON a supervisor sums holds the same values as the worker's text exposition.
  const url = readFileSync(join(dataDir, 'worker-1', 'worker.url'), 'utf8').trim()
  const json = (await (await fetch(`${url}/metrics?format=json`)).json()) as MetricsJson
  const records = json.find((m) => m.name === 'shop_actor_records_total')?.values.find((v) => v.labels.group === 'order')?.value
  expect(records).toBe(total(second, 'shop_actor_records_total', { group: 'order' }))

  // The project's broker gives a group's first join 100 ms (scripts/kafka.sh): nothing to warn of.
  if (typeof controlBroker === 'function') expect(shop.stderr.join('\n')).not.toContain('workers:rebalance-delay')

  const last = [...current(shop).values()]
  shop.kill('SIGTERM')
  expect(await shop.exited).toBe(0)
  expect(last.filter(alive)).toEqual([])
}, 300_000)

test('--workers: a supervisor killed -9 leaves no worker behind; each worker stops on its own', async () => {
  const prefix = newPrefix()
  const shop = await spawn(deploymentFlags(prefix, 'order', ['--workers=2']))
  await shop.ready()
  const pids = [...current(shop).values()]
  expect(pids).toHaveLength(2)
  shop.kill('SIGKILL')
  expect(await shop.exited).toBe(137)
  await eventually(() => expect(pids.filter(alive)).toEqual([]), 30_000)
}, 120_000)
