import { describe, expect, test } from 'bun:test'
import pino from 'pino'
import { Shop } from './app.ts'
import { loadConfig } from './config/load.ts'
import { MemoryCluster, MemoryLog } from './kafka/memory/index.ts'
import { createLogger } from './log.ts'
import type { ConsumerRole } from './actors/runtime/consumer-role.ts'

const logger = createLogger('silent')

async function start(cluster: MemoryCluster, roles: string) {
  const { config } = loadConfig([`--roles=${roles}`, '--http-port=0', '--partitions=4'], {})
  const escalations: Error[] = []
  const shop = await Shop.start({ config, logger, log: new MemoryLog({ cluster }), onEscalate: (e) => escalations.push(e) })
  return { shop, escalations }
}

const partitionsOf = (shop: Shop, role: string) => (shop.roles.find((r) => r.name === role) as ConsumerRole).partitions()

describe('a shop process on the in-memory log', () => {
  test('creates its topics, becomes ready over HTTP, and stops cleanly', async () => {
    const cluster = new MemoryCluster()
    const { shop, escalations } = await start(cluster, 'api,order,inventory,notifier,aggregator')
    expect([...cluster.topics.keys()].sort()).toEqual([
      '_schemas',
      'inventory.failed',
      'inventory.line-results',
      'inventory.requests',
      'inventory.reserved',
      'metrics.order.rate',
      'notification.requests',
      'order.cancel-requests',
      'order.packed',
      'order.shipped',
      'order.status',
      'orders.created',
      'payment.failed',
      'payment.processed',
      'payment.refunded',
      'payment.requests',
      'shipping.requests',
      'shop-aggregator-orders-changelog',
      'shop-aggregator-partials-repartition',
      'shop-aggregator-windows-changelog',
      'shop-api-idempotency-changelog',
      'shop-inventory-reservations-changelog',
      'shop-inventory-stock-changelog',
      'shop-notifier-notified-changelog',
      'shop-order-sagas-changelog',
      'shop-processes',
      'shop.dlq',
      'shop.dlq.replays',
      'warehouse.requests',
    ])
    expect(cluster.topics.get('_schemas')!.length).toBe(1)
    const ready = await fetch(`${shop.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(partitionsOf(shop, 'inventory')).toEqual([0, 1, 2, 3])
    await shop.stop()
    expect(shop.readiness().every((r) => !r.ready)).toBe(true)
    expect(escalations).toEqual([])
  })

  test('scale-out: two processes split the partitions of a role; when one stops, the other takes all', async () => {
    const cluster = new MemoryCluster()
    const a = await start(cluster, 'inventory')
    const b = await start(cluster, 'inventory,notifier')
    const split = [partitionsOf(a.shop, 'inventory'), partitionsOf(b.shop, 'inventory')].sort((x, y) => x[0] - y[0])
    expect(split).toEqual([[0, 1], [2, 3]])
    await b.shop.stop()
    expect(partitionsOf(a.shop, 'inventory')).toEqual([0, 1, 2, 3])
    await a.shop.stop()
  })

  test('start fails clearly when an existing topic (here a co-partitioned one) has another partition count', async () => {
    const cluster = new MemoryCluster()
    await new MemoryLog({ cluster }).admin.ensureTopics([{ name: 'inventory.line-results', partitions: 4 }])
    const { config } = loadConfig(['--roles=order', '--http-port=0', '--partitions=6'], {})
    await expect(Shop.start({ config, logger, log: new MemoryLog({ cluster }), onEscalate: () => {} })).rejects.toThrow(
      'topic inventory.line-results has 4 partitions, expected 6',
    )
  })

  test('a worker whose start gate cannot be used says so and starts without waiting for its siblings', async () => {
    const lines: string[] = []
    const captured = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
    const { config } = loadConfig(['--roles=order,inventory', '--http-port=0', '--partitions=4'], {})
    // A directory under a file: nothing can be written there.
    const worker = { index: 0, supervisorPid: process.pid, gate: { dir: '/dev/null/start-gate', workers: 2 } }
    const shop = await Shop.start({ config, logger: captured, log: new MemoryLog({ cluster: new MemoryCluster() }), worker, onEscalate: () => {} })
    const gate = lines.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'worker:gate')
    expect(gate.map((entry) => [entry.level, entry.msg])).toEqual([[40, 'the start gate /dev/null/start-gate cannot be used; joining without waiting for the other workers']])
    expect(partitionsOf(shop, 'order')).toEqual([0, 1, 2, 3])
    await shop.stop()
  })
})
