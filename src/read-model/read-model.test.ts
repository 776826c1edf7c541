import { afterAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import type { OrderStatusChanged } from '../../schemas/lifecycle.ts'
import { testPostgres } from '../../test/harness/postgres.ts'
import { runtime } from '../runtime/index.ts'
import { type ReadModelTarget, SqlReadModel } from './sql.ts'
import type { ProjectedStep, ReadModel } from './types.ts'

/**
 * The read model's contract, on both databases it supports: SQLite, and the real PostgreSQL
 * that scripts/postgres.sh runs (scripts/test.sh starts it; SHOP_TEST_POSTGRES points elsewhere).
 */
const targets: Array<[string, () => ReadModelTarget]> = [
  ['sqlite', () => ({ kind: 'sqlite', path: ':memory:' })],
  ['postgres', () => ({ kind: 'postgres', url: testPostgres })],
]

for (const [name, target] of targets) {
  describe(`read model: ${name}`, () => {
    const opened: ReadModel[] = []
    afterAll(async () => {
      for (const model of opened) await model.close()
    })
    // Each test gets its own topic name and order ids, so tests share one database without meeting.
    const fresh = async () => {
      const model = new SqlReadModel(target())
      opened.push(model)
      const run = randomUUID().slice(0, 8)
      return { model, topic: `order.status.${run}`, id: (n: number) => `${run}-order-${n}` }
    }
    const step = (offset: number, change: Partial<OrderStatusChanged> & Pick<OrderStatusChanged, 'orderId' | 'status' | 'at'>): ProjectedStep => ({
      offset: BigInt(offset),
      change: { userId: 'ada', ...change },
    })
    const created = (orderId: string, at: string, userId = 'ada'): OrderStatusChanged => ({
      orderId,
      userId,
      status: 'pending',
      at,
      order: { items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 2.5 }], total: 5, createdAt: at },
    })

    test('steps fold into the order row and its history, in order', async () => {
      const { model, topic, id } = await fresh()
      await model.apply({ topic, partition: 0 }, [
        step(0, created(id(1), '2026-01-01T00:00:00.000Z')),
        step(1, { orderId: id(1), status: 'reserved', at: '2026-01-01T00:00:01.000Z' }),
        step(2, { orderId: id(1), status: 'paid', at: '2026-01-01T00:00:02.000Z' }),
        step(3, { orderId: id(1), status: 'shipped', at: '2026-01-01T00:00:03.000Z', carrier: 'DHL', trackingNumber: 'SHOP0123456789AB' }),
      ])
      const found = await model.get(id(1))
      expect(found?.order).toEqual({
        orderId: id(1),
        userId: 'ada',
        status: 'shipped',
        total: 5,
        currency: 'EUR',
        items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 2.5 }],
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:03.000Z',
        reason: null,
        carrier: 'DHL',
        trackingNumber: 'SHOP0123456789AB',
      })
      expect(found?.history.map((h) => h.status)).toEqual(['pending', 'reserved', 'paid', 'shipped'])
      expect(found?.history[3]).toEqual({ status: 'shipped', at: '2026-01-01T00:00:03.000Z', carrier: 'DHL', trackingNumber: 'SHOP0123456789AB' })
      expect(await model.get(id(2))).toBeUndefined()
    })

    test('exactly once: steps at or below the stored offset change nothing; undecodable records only move it', async () => {
      const { model, topic, id } = await fresh()
      const steps = [step(0, created(id(1), '2026-01-01T00:00:00.000Z')), step(1, { orderId: id(1), status: 'reserved', at: '2026-01-01T00:00:01.000Z' })]
      await model.apply({ topic, partition: 3 }, steps)
      // A redelivery of both, and one more step behind a record that could not be decoded.
      await model.apply({ topic, partition: 3 }, [...steps, { offset: 2n, change: undefined }, step(3, { orderId: id(1), status: 'paid', at: '2026-01-01T00:00:02.000Z' })])
      expect((await model.get(id(1)))?.history.map((h) => h.status)).toEqual(['pending', 'reserved', 'paid'])
      expect(await model.offsets(topic)).toEqual(new Map([[3, 4n]]))
      await model.apply({ topic, partition: 3 }, [{ offset: 4n, change: undefined }])
      expect(await model.offsets(topic)).toEqual(new Map([[3, 5n]]))
      // Offsets are per partition: partition 0 starts from nothing.
      await model.apply({ topic, partition: 0 }, [step(0, created(id(2), '2026-01-01T00:00:05.000Z'))])
      expect(await model.offsets(topic)).toEqual(new Map([[0, 1n], [3, 5n]]))
      expect(await model.offsets(`${topic}.other`)).toEqual(new Map())
    })

    test('a failed fold leaves neither rows nor offset', async () => {
      const { model, topic, id } = await fresh()
      const broken = { offset: 1n, change: { ...created(id(1), '2026-01-01T00:00:00.000Z'), order: undefined, userId: null } } as unknown as ProjectedStep
      await expect(model.apply({ topic, partition: 0 }, [step(0, created(id(2), '2026-01-01T00:00:00.000Z')), broken])).rejects.toThrow()
      expect(await model.get(id(2))).toBeUndefined()
      expect(await model.offsets(topic)).toEqual(new Map())
    })

    test('list: newest first, filtered by user and status, paged by keyset', async () => {
      const { model, topic, id } = await fresh()
      const users = [`${topic}-u1`, `${topic}-u2`]
      await model.apply(
        { topic, partition: 0 },
        Array.from({ length: 6 }, (_, n) => step(n, created(id(n), `2026-01-01T00:00:0${n}.000Z`, users[n % 2]))),
      )
      await model.apply({ topic, partition: 1 }, [step(0, { orderId: id(4), userId: users[0], status: 'reserved', at: '2026-01-01T00:01:00.000Z' })])
      const ids = (orders: Array<{ orderId: string }>) => orders.map((o) => o.orderId)
      expect(ids(await model.list({ userId: users[0], limit: 10 }))).toEqual([id(4), id(2), id(0)])
      expect(ids(await model.list({ userId: users[0], status: 'pending', limit: 10 }))).toEqual([id(2), id(0)])
      expect(ids(await model.list({ userId: users[1], status: 'reserved', limit: 10 }))).toEqual([])
      const first = await model.list({ userId: users[1], limit: 2 })
      expect(ids(first)).toEqual([id(5), id(3)])
      const last = first.at(-1)!
      expect(ids(await model.list({ userId: users[1], limit: 2, after: { createdAt: last.createdAt, orderId: last.orderId } }))).toEqual([id(1)])
    })

    test('currency: the order\'s own (OrderCreated v2); euros for an order of version 1; none without a total', async () => {
      const { model, topic, id } = await fresh()
      const inDollars = created(id(1), '2026-01-01T00:00:00.000Z')
      await model.apply({ topic, partition: 0 }, [
        step(0, { ...inDollars, order: { ...inDollars.order!, currency: 'USD' } }),
        step(1, created(id(2), '2026-01-01T00:00:01.000Z')),
        // An order whose statuses began before they carried the order: no total, no currency.
        step(2, { orderId: id(3), status: 'reserved', at: '2026-01-01T00:00:02.000Z' }),
      ])
      const view = async (n: number) => (await model.get(id(n)))!.order
      expect([await view(1), await view(2), await view(3)].map(({ total, currency }) => ({ total, currency }))).toEqual([
        { total: 5, currency: 'USD' },
        { total: 5, currency: 'EUR' },
        { total: null, currency: null },
      ])
    })

    test('reset drops every row and offset', async () => {
      const { model, topic, id } = await fresh()
      await model.apply({ topic, partition: 0 }, [step(0, created(id(1), '2026-01-01T00:00:00.000Z'))])
      await model.reset()
      expect(await model.get(id(1))).toBeUndefined()
      expect(await model.offsets(topic)).toEqual(new Map())
    })
  })
}

test('read model: a SQLite file made before orders had a currency gains the column, its orders in euros', async () => {
  const path = `/tmp/shop-read-model-${randomUUID().slice(0, 8)}.sqlite`
  const old = runtime.openSqlite(path)
  old.exec(`CREATE TABLE orders (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL, total DOUBLE PRECISION, items TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, reason TEXT, carrier TEXT, tracking_number TEXT)`)
  old.exec(`INSERT INTO orders VALUES ('o-1', 'ada', 'paid', 5, '[]', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', NULL, NULL, NULL)`)
  old.exec(`INSERT INTO orders VALUES ('o-2', 'ada', 'reserved', NULL, '[]', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', NULL, NULL, NULL)`)
  old.close()
  const model = new SqlReadModel({ kind: 'sqlite', path })
  try {
    expect((await model.get('o-1'))?.order).toMatchObject({ total: 5, currency: 'EUR', status: 'paid' })
    expect((await model.get('o-2'))?.order).toMatchObject({ total: null, currency: null })
  } finally {
    await model.close()
    rmSync(path, { force: true })
  }
})

test('read model: a SQLite file made before orders counted their steps gains the count from the history, and the next step follows it', async () => {
  const path = `/tmp/shop-read-model-${randomUUID().slice(0, 8)}.sqlite`
  const old = runtime.openSqlite(path)
  old.exec(`CREATE TABLE orders (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL, total DOUBLE PRECISION, currency TEXT, items TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, reason TEXT, carrier TEXT, tracking_number TEXT)`)
  old.exec(`CREATE TABLE order_history (order_id TEXT NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL, reason TEXT, note TEXT,
    carrier TEXT, tracking_number TEXT, PRIMARY KEY (order_id, seq))`)
  old.exec(`INSERT INTO orders VALUES ('o-1', 'ada', 'reserved', 5, 'EUR', '[]', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', NULL, NULL, NULL)`)
  old.exec(`INSERT INTO order_history (order_id, seq, status, at) VALUES ('o-1', 1, 'pending', '2026-01-01T00:00:00.000Z'), ('o-1', 2, 'reserved', '2026-01-01T00:00:01.000Z')`)
  old.close()
  const model = new SqlReadModel({ kind: 'sqlite', path })
  try {
    await model.apply({ topic: 'order.status', partition: 0 }, [{ offset: 7n, change: { orderId: 'o-1', userId: 'ada', status: 'paid', at: '2026-01-01T00:00:02.000Z' } }])
    const found = await model.get('o-1')
    expect(found?.history.map((h) => h.status)).toEqual(['pending', 'reserved', 'paid'])
    expect(found?.order.status).toBe('paid')
  } finally {
    await model.close()
    rmSync(path, { force: true })
  }
})
