import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { events } from '../../schemas/events.ts'
import { decodeEvent } from '../../src/events/envelope.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { topicNames } from '../../src/topology.ts'
import { eventually } from '../harness/eventually.ts'
import { testPostgres } from '../harness/postgres.ts'
import { testBrokers } from './broker.ts'
import { placeOrders, setStock } from './load.ts'
import { deployment, deploymentFlags, newPrefix, repo } from './shop-process.ts'

const { log, spawn } = deployment('read-model')

interface HistoryRow {
  order_id: string
  seq: number
  status: string
  at: string
  note: string | null
}

/** This run's rows of the PostgreSQL read model: every order's history in seq order, and its current status. */
async function tables(db: SQL, orderIds: Set<string>) {
  const history: HistoryRow[] = await db`SELECT order_id, seq, status, at, note FROM order_history ORDER BY order_id, seq`
  const orders: Array<{ order_id: string; status: string; updated_at: string; tracking_number: string | null }> =
    await db`SELECT order_id, status, updated_at, tracking_number FROM orders ORDER BY order_id`
  return {
    history: history.filter((h) => orderIds.has(h.order_id)).map((h) => ({ ...h, seq: Number(h.seq) })),
    orders: orders.filter((o) => orderIds.has(o.order_id)),
  }
}

test('projector into PostgreSQL: a kill -9 loses and doubles nothing; the api of another process answers from it; a rebuild gives identical tables', async () => {
  const prefix = newPrefix()
  const topics = topicNames(prefix)
  const readModel = `--read-model=${testPostgres}`
  const front = await spawn(deploymentFlags(prefix, 'api,order,inventory,payment,warehouse,shipper', [readModel, '--warehouse-pick-ms=5']))
  const projectorDir = mkdtempSync(join(tmpdir(), 'shop-state-'))
  const startProjector = () => spawn(deploymentFlags(prefix, 'projector', [readModel], projectorDir))
  let projector = await startProjector()
  await Promise.all([front.ready(), projector.ready()])
  const db = new SQL(testPostgres)
  try {
    const stock = { 'SKU-1': 400, 'SKU-2': 300, 'SKU-3': 20 }
    await setStock(front.url, stock)
    let running = true
    const load = placeOrders(() => front.url, { orders: 100_000, users: 40, skus: Object.keys(stock), concurrency: 4, pauseMs: 10, stop: () => !running })
    const projectedRows = async () => Number((await db`SELECT count(*) AS n FROM order_history WHERE order_id IN (SELECT order_id FROM orders)`)[0].n)

    // Kill the projector twice while it folds, each time once it has written more rows since its start.
    let kills = 0
    for (let round = 0; round < 2; round++) {
      const before = await projectedRows()
      await eventually(async () => expect(await projectedRows()).toBeGreaterThan(before + 30), 60_000)
      projector.kill('SIGKILL')
      expect(await projector.exited).toBe(137)
      kills++
      projector = await startProjector()
      await projector.ready()
    }
    const afterKills = await projectedRows()
    await eventually(async () => expect(await projectedRows()).toBeGreaterThan(afterKills + 30), 60_000)
    running = false
    const result = await load
    expect(result.unexpected).toEqual([])
    expect(result.accepted.length).toBeGreaterThan(50)
    const accepted = new Set(result.accepted)

    // What the topic says: each order's steps in offset order (an order lives in one partition).
    const fromTopic = async () => {
      const steps = new Map<string, Array<{ status: string; at: string; note: string | null }>>()
      for (const record of await readTopic(log, topics.orderStatus)) {
        const change = decodeEvent(events.orderStatus, record)
        steps.set(change.orderId, [...(steps.get(change.orderId) ?? []), { status: change.status, at: change.at, note: change.note ?? null }])
      }
      return steps
    }
    // Every accepted order reaches a final status (shipped or out_of_stock here), and the read model
    // holds exactly the topic's steps: none lost across the kills, none doubled.
    let expected = await fromTopic()
    await eventually(async () => {
      expected = await fromTopic()
      for (const id of accepted) expect([id, expected.get(id)?.at(-1)?.status]).toEqual([id, expect.stringMatching(/^(shipped|out_of_stock)$/)])
      const live = await tables(db, accepted)
      const want = [...expected].filter(([id]) => accepted.has(id)).flatMap(([id, steps]) => steps.map((s, i) => ({ order_id: id, seq: i + 1, ...s })))
      want.sort((a, b) => (a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : a.seq - b.seq))
      expect(live.history).toEqual(want)
    }, 120_000, 500)
    expect([...expected.keys()].filter((id) => !accepted.has(id))).toEqual([])

    // The api process reads the projector's database: each accepted order as the topic ends it.
    for (const id of [...accepted].slice(0, 40)) {
      const response = await fetch(`${front.url}/orders/${id}`)
      const body = (await response.json()) as { status: string; history: Array<{ status: string }> }
      expect([id, response.status, body.status, body.history.length]).toEqual([id, 200, expected.get(id)!.at(-1)!.status, expected.get(id)!.length])
    }

    // `shop rebuild read-model` while the projector runs: the same tables, row for row.
    const live = await tables(db, accepted)
    const rebuild = Bun.spawn([process.execPath, join(repo, 'src/main.ts'), 'rebuild', 'read-model', '--bus=kafka', `--brokers=${testBrokers.join(',')}`, `--topic-prefix=${prefix}`, readModel], {
      cwd: repo,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([rebuild.exited, new Response(rebuild.stdout).text(), new Response(rebuild.stderr).text()])
    expect([code, err]).toEqual([0, ''])
    const report = JSON.parse(out)
    expect(report).toMatchObject({ rebuilt: 'read-model', topic: topics.orderStatus, partitions: 6, undecodable: 0, orders: expected.size })
    expect(report.records).toBe([...expected.values()].reduce((n, steps) => n + steps.length, 0))
    expect(await tables(db, accepted)).toEqual(live)
    console.log(`read model: ${accepted.size} orders, ${live.history.length} steps in PostgreSQL across ${kills} kill -9 of the projector; rebuilt in ${report.ms} ms`)
  } finally {
    await db.close()
  }
  front.kill('SIGTERM')
  projector.kill('SIGTERM')
  expect(await Promise.all([front.exited, projector.exited])).toEqual([0, 0])
}, 300_000)
