import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dashboardJson, panelQueries } from '../../deploy/grafana/dashboard.ts'
import { eventually } from '../harness/eventually.ts'
import { placeOrders, setStock } from './load.ts'
import { deployment, deploymentFlags, newPrefix, repo } from './shop-process.ts'
import { encodeEvent } from '../../src/events/envelope.ts'
import { events } from '../../schemas/events.ts'
import { topicNames } from '../../src/topology.ts'

const { log, spawn } = deployment('prometheus')
const alerts = join(repo, 'deploy/prometheus/alerts.yml')

/** Debian's Prometheus on a free port, scraping `targets` every second, with `rules` loaded. */
async function startPrometheus(targets: string[], rules: string) {
  const dir = mkdtempSync(join(tmpdir(), 'shop-prometheus-'))
  writeFileSync(join(dir, 'alerts.yml'), rules)
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [join(dir, 'alerts.yml')],
    scrape_configs: [{ job_name: 'shop', static_configs: [{ targets }] }],
  }
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config))
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const proc = Bun.spawn(['prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdout: 'ignore', stderr: 'pipe' })
  const url = `http://127.0.0.1:${port}`
  await eventually(async () => expect((await fetch(`${url}/-/ready`)).status).toBe(200), 30_000, 200)
  const query = async (expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const answer = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string; data: { result: never[] } }
    if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`)
    return answer.data.result
  }
  return { url, query, stop: () => proc.kill('SIGTERM') }
}

/** The rules with their windows shortened (5m -> 20s, for: 2m -> 5s) so that a test sees them fire; the real durations are unit-tested by promtool. */
const quickened = (rules: string) => rules.replace(/\[(5|10)m\]/g, '[20s]').replace(/for: \d+m/g, 'for: 5s')

/** Every vector selector of a PromQL expression (metric name and matchers). */
const selectors = (expr: string) => [...expr.matchAll(/\b((?:shop|kafka_consumergroup|process)_[a-z_]+|up)(\{[^}]*\})?/g)].map((m) => m[0])

let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined
afterAll(() => prometheus?.stop())

test('the alert rules are valid and pass their unit tests (promtool test rules deploy/prometheus/alerts.test.yml)', () => {
  for (const args of [['check', 'rules', alerts], ['test', 'rules', join(repo, 'deploy/prometheus/alerts.test.yml')]]) {
    const run = Bun.spawnSync(['promtool', ...args])
    expect([args.join(' '), run.exitCode, `${run.stdout}${run.stderr}`]).toEqual([args.join(' '), 0, expect.stringContaining('SUCCESS')])
  }
})

test('the provisioned dashboard is the one deploy/grafana/dashboard.ts makes', () => {
  expect(readFileSync(join(repo, 'deploy/grafana/dashboards/shop.json'), 'utf8')).toBe(dashboardJson())
})

test('Prometheus scraping a shop on Kafka under load: every dashboard query and every series the alerts read return data; promtool finds nothing to say of the shop_ families; stopping the order role fires ShopOrdersStalled, and the backlog then passing its limit fires ShopApiRefusingOrders', async () => {
  const prefix = newPrefix()
  const maxBacklog = 500
  const front = await spawn(deploymentFlags(prefix, 'api', ['--lag-sample-ms=1000', `--max-order-backlog=${maxBacklog}`]))
  const worker = await spawn(deploymentFlags(prefix, 'order,inventory,payment,warehouse,shipper,notifier', ['--warehouse-pick-ms=1', '--lag-sample-ms=1000']))
  await Promise.all([front.ready(), worker.ready()])
  prometheus = await startPrometheus([front.url, worker.url].map((u) => new URL(u).host), quickened(readFileSync(alerts, 'utf8')))

  // Every metric a panel or an alert reads: orders flowing to every end, a 400, a dead letter.
  await setStock(front.url, { 'SKU-1': 100_000, 'SKU-2': 5 })
  expect((await fetch(`${front.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(400)
  const poison = { topic: topicNames(prefix).ordersCreated, key: 'x', ...encodeEvent(events.orderCreated, { orderId: 'o', userId: 'not-x', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1 }], total: 1, createdAt: new Date().toISOString() }, 'test') }
  await log.producer().send([poison])
  const load = await placeOrders(() => front.url, { orders: 300, users: 50, skus: ['SKU-1', 'SKU-2'], concurrency: 4, pauseMs: 5 })
  expect(load.unexpected).toEqual([])
  const { query } = prometheus
  await eventually(async () => expect((await query('sum(shop_order_status_changes_total{status="shipped"})'))[0]?.value[1]).toBe(String(load.accepted.length - Number((await query('sum(shop_order_status_changes_total{status="out_of_stock"})'))[0]?.value[1] ?? 0))), 60_000, 500)
  // A scrape has a 1 s timeout here (the interval): one that met a process busy with the load's last
  // batches reads up 0 until the next one.
  await eventually(async () => expect((await query('up{job="shop"} == 1')).length).toBe(2), 10_000, 500)

  // rate() needs two scrapes of a series within its window: a query may need a few seconds more.
  for (const { panel, expr } of panelQueries()) {
    await eventually(async () => expect([panel, expr, (await query(expr)).length > 0]).toEqual([panel, expr, true]), 30_000, 500)
  }
  // promtool's lint of a real scrape of each process: nothing about shop's own families.
  for (const url of [front.url, worker.url]) {
    const linted = Bun.spawnSync(['promtool', 'check', 'metrics'], { stdin: Buffer.from(await (await fetch(`${url}/metrics`)).text()) })
    const complaints = `${linted.stdout}${linted.stderr}`.split('\n').filter((l) => /shop_|kafka_consumergroup/.test(l))
    expect(complaints).toEqual([])
  }

  // No process runs the order role any more; orders keep coming through the api, slowly enough
  // that the backlog stays under its limit while the stall alert becomes due.
  worker.kill('SIGTERM')
  expect(await worker.exited).toBe(0)
  const firing = async (alert: string, label: string) => (await query(`ALERTS{alertname="${alert}",alertstate="firing"}`)).map((a) => a.metric[label])
  expect(await firing('ShopOrdersStalled', 'consumergroup')).toEqual([])
  let placing = true
  const slow = placeOrders(() => front.url, { orders: 10_000, users: 50, skus: ['SKU-1'], concurrency: 1, pauseMs: 250, stop: () => !placing })
  await eventually(async () => expect(await firing('ShopOrdersStalled', 'consumergroup')).toEqual([`${prefix}shop-order`]), 90_000, 1_000)
  placing = false
  const stalled = await slow
  expect([stalled.unexpected, stalled.refused]).toEqual([[], []])

  // Now faster, until the api refuses (503: the backlog passed --max-order-backlog): the 5xx the
  // ratio alert reads, and ShopApiRefusingOrders firing for that reason.
  let refusing = 0
  const fast = placeOrders(() => front.url, { orders: 10 * maxBacklog, users: 50, skus: ['SKU-1'], concurrency: 8, stop: () => refusing > 20 })
  await eventually(async () => {
    refusing = Number((await query('sum(shop_orders_refused_total{reason="backlog"})'))[0]?.value[1] ?? 0)
    expect(refusing).toBeGreaterThan(20)
  }, 60_000, 500)
  const full = await fast
  expect(full.unexpected).toEqual([])
  expect(full.refused.length).toBeGreaterThan(0)
  let trickle = true
  const more = placeOrders(() => front.url, { orders: 10_000, users: 50, skus: ['SKU-1'], concurrency: 1, pauseMs: 250, stop: () => !trickle })
  await eventually(async () => expect(await firing('ShopApiRefusingOrders', 'reason')).toEqual(['backlog']), 60_000, 1_000)

  // Every series each alert reads was scraped during the run (the worker's before it stopped, the 5xx answers since).
  const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; query: string; health: string }> }> } }
  const loaded = rules.data.groups.flatMap((g) => g.rules)
  expect(loaded.map((r) => r.name).sort()).toEqual([...readFileSync(alerts, 'utf8').matchAll(/alert: (\w+)/g)].map((m) => m[1]).sort())
  for (const rule of loaded) {
    expect([rule.name, rule.health]).toEqual([rule.name, 'ok'])
    for (const selector of selectors(rule.query)) {
      await eventually(async () => expect([rule.name, selector, (await query(`count(last_over_time(${selector}[10m]))`)).length]).toEqual([rule.name, selector, 1]), 30_000, 500)
    }
  }
  trickle = false
  expect((await more).unexpected).toEqual([])
  front.kill('SIGTERM')
  expect(await front.exited).toBe(0)
}, 300_000)
