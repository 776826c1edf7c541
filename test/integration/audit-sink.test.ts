import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { randomUUID } from 'node:crypto'
import { events } from '../../schemas/events.ts'
import { finalStatuses } from '../../schemas/lifecycle.ts'
import { decodeEvent } from '../../src/events/envelope.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { auditedTopics, topicNames } from '../../src/topology.ts'
import { eventually } from '../harness/eventually.ts'
import { testPostgres } from '../harness/postgres.ts'
import { testBrokers } from './broker.ts'
import { placeOrders, setStock } from './load.ts'
import { deployment, deploymentFlags, repo } from './shop-process.ts'

/**
 * The audit tables end to end: shop's audit role, a Kafka Connect worker of this file's own
 * (scripts/connect.sh, on its own port and group) running the Debezium JDBC sink with the very
 * connector config compose mounts (deploy/connect/audit-sink.json), and the real PostgreSQL.
 * Tables are named after the topics, so this run's prefix keeps its tables apart.
 */
const { log, spawn } = deployment('audit-sink')
const run = randomUUID().replaceAll('-', '').slice(0, 8)
const prefix = `t${run}.`
const topics = topicNames(prefix)
const table = (auditTopic: string) => auditTopic.replaceAll('.', '_')
const connectPort = Number(process.env.SHOP_TEST_CONNECT_PORT ?? 18383)
const connectUrl = `http://127.0.0.1:${connectPort}`
const connector = `shop-audit-${run}`
const pg = new URL(testPostgres)
const workerEnv = {
  ...process.env,
  CONNECT_PORT: String(connectPort),
  CONNECT_GROUP: `shop-connect-${run}`,
  CONNECT_BROKERS: testBrokers.join(','),
  AUDIT_DB_PASSWORD: decodeURIComponent(pg.password),
}
const db = new SQL(testPostgres)

async function worker(action: 'up' | 'down' | 'kill') {
  const proc = Bun.spawn(['bash', 'scripts/connect.sh', action], { cwd: repo, env: workerEnv, stdout: 'pipe', stderr: 'pipe' })
  if ((await proc.exited) !== 0) throw new Error(`connect.sh ${action} failed: ${await new Response(proc.stderr).text()}`)
}

beforeAll(async () => {
  await worker('up')
  const file = await Bun.file(`${repo}/deploy/connect/audit-sink.json`).json()
  const config = {
    ...file,
    // This run's connector, topics and database; everything else as deployed.
    name: connector,
    'topics.regex': `${prefix.replaceAll('.', '\\.')}${file['topics.regex']}`,
    'connection.url': `jdbc:postgresql://${pg.host}${pg.pathname}`,
    'connection.username': decodeURIComponent(pg.username),
  }
  const response = await fetch(`${connectUrl}/connectors/${connector}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) })
  expect(response.status).toBe(201)
}, 240_000)

afterAll(async () => {
  await fetch(`${connectUrl}/connectors/${connector}`, { method: 'DELETE' }).catch(() => {})
  await worker('down')
  for (const [, audit] of auditedTopics(topics)) await db.unsafe(`DROP TABLE IF EXISTS ${table(audit)}`)
  await db.close()
}, 60_000)

/** The event ids of a fact topic, read to its end. */
const factIds = async (topic: string) => new Set((await readTopic(log, topic)).map((r) => r.headers.ce_id))

/** The rows of an audit table (none while the sink has not created it). */
async function rows(auditTopic: string): Promise<Array<Record<string, unknown>>> {
  const [{ exists }] = await db`SELECT to_regclass(${table(auditTopic)}) IS NOT NULL AS exists`
  return exists ? db.unsafe(`SELECT * FROM ${table(auditTopic)}`) : []
}

/** Waits until every audit table holds exactly the facts of its topic, one row per event id. */
async function everyFactExported(patienceMs = 90_000) {
  for (const [fact, audit] of auditedTopics(topics)) {
    const expected = await factIds(fact)
    await eventually(async () => {
      const ids = (await rows(audit)).map((row) => row.ce_id)
      expect(ids.length).toBe(new Set(ids).size)
      expect(new Set(ids)).toEqual(expected)
    }, patienceMs, 250)
  }
}

/** Waits until every order placed reached a final status on order.status. */
async function allSettled(orderIds: string[]) {
  await eventually(async () => {
    const final = new Set((await readTopic(log, topics.orderStatus)).map((r) => decodeEvent(events.orderStatus, r)).filter((s) => finalStatuses.has(s.status)).map((s) => s.orderId))
    expect(orderIds.filter((id) => !final.has(id))).toEqual([])
  }, 90_000, 250)
}

test('every fact of a run lands in its audit table once: a v2 field becomes a column, re-sent records do not duplicate, a killed worker resumes without loss', async () => {
  const facts = 'api,order,inventory,payment,warehouse,shipper'
  const v1 = await spawn(deploymentFlags(prefix, `${facts},audit`, ['--order-schema-version=1', '--warehouse-pick-ms=5']))
  await v1.ready()
  await setStock(v1.url, { 'SKU-1': 60, 'SKU-2': 40, 'SKU-3': 5 })

  // Version 1 orders: the orders table is created without a currency column.
  const first = await placeOrders(() => v1.url, { orders: 40, users: 12, skus: ['SKU-1', 'SKU-2', 'SKU-3'], concurrency: 4 })
  expect(first.unexpected).toEqual([])
  expect(first.accepted).toHaveLength(40)
  await allSettled(first.accepted)
  await everyFactExported()
  const ordersTable = (await rows(topics.auditOrdersCreated)) as Array<{ order_id: string; ce_id: string; ce_type: string; ce_source: string; ce_dataschemaversion: string; origin_topic: string; items: unknown; currency?: string | null }>
  expect(ordersTable.map((r) => r.order_id).toSorted()).toEqual(first.accepted.toSorted())
  expect(ordersTable.every((r) => r.ce_type === 'shop.order.created' && r.ce_source === 'shop/api' && r.ce_dataschemaversion === '1' && r.origin_topic === topics.ordersCreated)).toBe(true)
  expect(ordersTable.every((r) => !('currency' in r))).toBe(true)
  // Each order's outcome is in exactly one of the outcome tables.
  const reserved = (await rows(topics.auditReserved)).map((r) => r.order_id as string)
  const failed = (await rows(topics.auditFailed)).map((r) => r.order_id as string)
  expect([...reserved, ...failed].toSorted()).toEqual(first.accepted.toSorted())

  // Version 2 (an api upgraded in place): the sink adds the column; the version 1 rows stay, without a currency.
  v1.kill('SIGTERM')
  expect(await v1.exited).toBe(0)
  const v2 = await spawn(deploymentFlags(prefix, `${facts},audit`, ['--warehouse-pick-ms=5']))
  await v2.ready()
  const usd: string[] = []
  for (let i = 0; i < 10; i++) {
    const response = await fetch(`${v2.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ userId: `usd-${i}`, items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 2.5 }], total: 2.5, currency: 'USD' }),
    })
    expect(response.status).toBe(202)
    usd.push(((await response.json()) as { orderId: string }).orderId)
  }
  await allSettled(usd)
  await everyFactExported()
  const withCurrency = (await rows(topics.auditOrdersCreated)) as Array<{ order_id: string; currency: string | null; ce_dataschemaversion: string }>
  expect(withCurrency.filter((r) => r.currency === 'USD').map((r) => r.order_id).toSorted()).toEqual(usd.toSorted())
  expect(withCurrency.filter((r) => r.currency === null).map((r) => r.order_id).toSorted()).toEqual(first.accepted.toSorted())
  expect(withCurrency.filter((r) => r.ce_dataschemaversion === '2')).toHaveLength(usd.length)

  // Re-sent records (a producer retrying without idempotence): read to the end offsets past them, still one row each.
  const sent = (await readTopic(log, topics.auditOrdersCreated)).slice(0, 15)
  const producer = log.producer()
  await producer.send(sent.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: r.headers })))
  await producer.close()
  // The sink commits the offset after the last record it wrote (a transaction's marker after it is not counted).
  const ends = new Map<number, bigint>()
  for (const r of await readTopic(log, topics.auditOrdersCreated)) ends.set(r.partition, r.offset + 1n)
  await eventually(async () => {
    const committed = await log.admin.committedOffsets(`connect-${connector}`)
    const at = (partition: number) => committed.find((c) => c.topic === topics.auditOrdersCreated && c.partition === partition)?.offset ?? 0n
    expect([...ends].filter(([partition, end]) => at(partition) < end)).toEqual([])
  }, 60_000, 250)
  const afterResend = (await rows(topics.auditOrdersCreated)).map((r) => r.ce_id)
  expect(afterResend).toHaveLength(first.accepted.length + usd.length)
  expect(new Set(afterResend)).toEqual(await factIds(topics.ordersCreated))

  // kill -9 of the worker while orders keep coming: started again, it exports what it missed, once.
  await worker('kill')
  const whileDown = await placeOrders(() => v2.url, { orders: 30, users: 12, skus: ['SKU-1', 'SKU-2'], concurrency: 4, seed: 7 })
  expect(whileDown.accepted).toHaveLength(30)
  await allSettled(whileDown.accepted)
  await worker('up')
  await everyFactExported()
  const all = (await rows(topics.auditOrdersCreated)).map((r) => r.order_id as string)
  expect(all.toSorted()).toEqual([...first.accepted, ...usd, ...whileDown.accepted].toSorted())
  const statuses = await rows(topics.auditOrderStatus)
  expect(new Set(statuses.map((r) => r.order_id))).toEqual(new Set(all))
  v2.kill('SIGTERM')
  expect(await v2.exited).toBe(0)
}, 600_000)
