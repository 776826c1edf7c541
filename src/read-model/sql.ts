import { defaultCurrency } from '../../schemas/order.ts'
import type { TopicPartition } from '../kafka/types.ts'
import { postgresClient } from './postgres-client.ts'
import { type SqlClient, sql } from './sql-client.ts'
import { sqliteClient } from './sqlite-client.ts'
import type { HistoryEntry, OrderQuery, OrderView, ProjectedStep, ReadModel } from './types.ts'

/**
 * The tables, in the SQL both databases speak. Offsets are text (a Kafka offset is a 64-bit
 * integer, beyond what a JavaScript number holds exactly).
 */
const schema = [
  `CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    total DOUBLE PRECISION,
    currency TEXT,
    items TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reason TEXT,
    carrier TEXT,
    tracking_number TEXT,
    steps INTEGER NOT NULL DEFAULT 0
  )`,
  'CREATE INDEX IF NOT EXISTS orders_newest ON orders (created_at DESC, order_id DESC)',
  'CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at DESC, order_id DESC)',
  'CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, created_at DESC, order_id DESC)',
  `CREATE TABLE IF NOT EXISTS order_history (
    order_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    note TEXT,
    carrier TEXT,
    tracking_number TEXT,
    PRIMARY KEY (order_id, seq)
  )`,
  'CREATE TABLE IF NOT EXISTS projection_offsets (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset TEXT NOT NULL, PRIMARY KEY (topic, partition))',
]
const tables = ['orders', 'order_history', 'projection_offsets']

/**
 * Columns added after a release, with the value rows written before them hold (every order before
 * OrderCreated v2 was in euros): added to tables created by that release, never rebuilt, since
 * `order.status` may no longer hold what the rows were made from.
 */
const addedColumns = [
  { table: 'orders', column: 'currency', type: 'TEXT', backfill: `UPDATE orders SET currency = 'EUR' WHERE currency IS NULL AND total IS NOT NULL` },
  // The history entries an order has: the next one's seq, known without reading the history.
  { table: 'orders', column: 'steps', type: 'INTEGER NOT NULL DEFAULT 0', backfill: 'UPDATE orders SET steps = (SELECT coalesce(max(seq), 0) FROM order_history h WHERE h.order_id = orders.order_id)' },
]

interface OrderRow {
  order_id: string
  user_id: string
  status: string
  total: number | string | null
  currency: string | null
  items: string
  created_at: string
  updated_at: string
  reason: string | null
  carrier: string | null
  tracking_number: string | null
}

/** Where the read model lives: a SQLite file (or `:memory:`), or a PostgreSQL database. */
export type ReadModelTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }

/**
 * The read model, one implementation for both databases: SQLite by default
 * (`--read-model=sqlite:<path>`, under --data-dir) and PostgreSQL (`--read-model=postgres://...`).
 * Each `apply` is one database transaction holding the rows and the partition's next offset.
 */
export class SqlReadModel implements ReadModel {
  readonly #db: SqlClient
  readonly #ready: Promise<void>

  constructor(readonly target: ReadModelTarget) {
    this.#db = target.kind === 'sqlite' ? sqliteClient(target.path) : postgresClient(target.url)
    this.#ready = this.#createTables()
    // A database that cannot be reached surfaces at the first call, not as an unhandled rejection.
    this.#ready.catch(() => {})
  }

  async #createTables(): Promise<void> {
    if (this.target.kind === 'sqlite') {
      await this.#db.unsafe('PRAGMA journal_mode = WAL')
      await this.#db.unsafe('PRAGMA synchronous = NORMAL')
      // A rebuild (`shop rebuild read-model`) may write while a live projector does.
      await this.#db.unsafe('PRAGMA busy_timeout = 10000')
      for (const statement of schema) await this.#db.unsafe(statement)
      await this.#addColumns(this.#db)
      return
    }
    // Several processes may create the tables at once; PostgreSQL's IF NOT EXISTS is not safe
    // against that, so they take turns under an advisory lock.
    await this.#db.transaction(async (tx) => {
      await tx.query(sql`SELECT pg_advisory_xact_lock(${readModelLock})`)
      for (const statement of schema) await tx.unsafe(statement)
      await this.#addColumns(tx)
    })
  }

  async #addColumns(db: SqlClient): Promise<void> {
    for (const { table, column, type, backfill } of addedColumns) {
      const columns: Array<{ name: string }> =
        db.dialect === 'sqlite'
          ? await db.unsafe(`SELECT name FROM pragma_table_info('${table}')`)
          : await db.query(sql`SELECT column_name AS name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = current_schema()`)
      if (columns.some((c) => c.name === column)) continue
      await db.unsafe(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`)
      await db.unsafe(backfill)
    }
  }

  async apply({ topic, partition }: TopicPartition, steps: ProjectedStep[]): Promise<void> {
    if (steps.length === 0) return
    await this.#ready
    await this.#db.transaction(async (tx) => {
      // A live projector and a rebuild may write one partition at once: they take turns, PostgreSQL
      // under an advisory lock per partition, SQLite under its write lock (taken at BEGIN).
      if (tx.dialect === 'postgres') await tx.query(sql`SELECT pg_advisory_xact_lock(hashtext(${topic}), ${partition})`)
      const [stored] = await tx.query<{ next_offset: string }>(sql`SELECT next_offset FROM projection_offsets WHERE topic = ${topic} AND partition = ${partition}`)
      let next = BigInt(stored?.next_offset ?? '0')
      for (const { offset, change: c } of steps) {
        if (offset < next) continue
        next = offset + 1n
        if (!c) continue
        // An order written before statuses carried it has no `pending` record: its first step makes the row.
        const currency = c.order ? (c.order.currency ?? defaultCurrency) : null
        // One statement makes the row or moves it on, and counts the step: its count is the history
        // entry's seq. An insert then an update cost ~6% more a step; finding the seq in the
        // history (its max + 1) ~6 µs of the 18 a step took (`bun bench/micro/read-model.ts`).
        const [{ steps }] = await tx.query<{ steps: number }>(sql`INSERT INTO orders (order_id, user_id, status, total, currency, items, created_at, updated_at, reason, carrier, tracking_number, steps)
          VALUES (${c.orderId}, ${c.userId}, ${c.status}, ${c.order?.total ?? null}, ${currency}, ${JSON.stringify(c.order?.items ?? [])}, ${c.order?.createdAt ?? c.at}, ${c.at},
            ${c.reason ?? null}, ${c.carrier ?? null}, ${c.trackingNumber ?? null}, 1)
          ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, reason = coalesce(excluded.reason, orders.reason),
            carrier = coalesce(excluded.carrier, orders.carrier), tracking_number = coalesce(excluded.tracking_number, orders.tracking_number), steps = orders.steps + 1
          RETURNING steps`) as [{ steps: number }]
        await tx.query(sql`INSERT INTO order_history (order_id, seq, status, at, reason, note, carrier, tracking_number)
          VALUES (${c.orderId}, ${steps}, ${c.status}, ${c.at}, ${c.reason ?? null}, ${c.note ?? null}, ${c.carrier ?? null}, ${c.trackingNumber ?? null})`)
      }
      await tx.query(sql`INSERT INTO projection_offsets (topic, partition, next_offset) VALUES (${topic}, ${partition}, ${next.toString()})
        ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`)
    })
  }

  async offsets(topic: string): Promise<Map<number, bigint>> {
    await this.#ready
    const rows = await this.#db.query<{ partition: number; next_offset: string }>(sql`SELECT partition, next_offset FROM projection_offsets WHERE topic = ${topic}`)
    return new Map(rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]))
  }

  async get(orderId: string): Promise<{ order: OrderView; history: HistoryEntry[] } | undefined> {
    await this.#ready
    const [row] = await this.#db.query<OrderRow>(sql`SELECT * FROM orders WHERE order_id = ${orderId}`)
    if (!row) return undefined
    const history = await this.#db.query<Record<string, string | null>>(sql`
      SELECT status, at, reason, note, carrier, tracking_number FROM order_history WHERE order_id = ${orderId} ORDER BY seq`)
    return {
      order: toView(row),
      history: history.map(
        (h) => withoutNulls({ status: h.status, at: h.at, reason: h.reason, note: h.note, carrier: h.carrier, trackingNumber: h.tracking_number }) as unknown as HistoryEntry,
      ),
    }
  }

  async list(query: OrderQuery): Promise<OrderView[]> {
    await this.#ready
    const conditions = [
      query.status ? sql`status = ${query.status}` : undefined,
      query.userId ? sql`user_id = ${query.userId}` : undefined,
      query.after ? sql`(created_at, order_id) < (${query.after.createdAt}, ${query.after.orderId})` : undefined,
    ].filter((c) => c !== undefined)
    const where = conditions.reduce((all, c, i) => (i === 0 ? sql`WHERE ${c}` : sql`${all} AND ${c}`), sql``)
    const rows = await this.#db.query<OrderRow>(sql`SELECT * FROM orders ${where} ORDER BY created_at DESC, order_id DESC LIMIT ${query.limit}`)
    return rows.map(toView)
  }

  async reset(): Promise<void> {
    await this.#ready
    await this.#db.transaction(async (tx) => {
      // Every apply reads projection_offsets first: locking it first waits for those under way
      // and holds back the next ones until the tables are empty.
      if (tx.dialect === 'postgres') await tx.query(sql`LOCK TABLE projection_offsets IN ACCESS EXCLUSIVE MODE`)
      for (const table of tables) await tx.unsafe(`DELETE FROM ${table}`)
    })
  }

  async close(): Promise<void> {
    await this.#ready.catch(() => {})
    await this.#db.close()
  }
}

/** The key of the advisory lock under which processes create the PostgreSQL tables. */
const readModelLock = 0x5ec0_0001

function toView(row: OrderRow): OrderView {
  return {
    orderId: row.order_id,
    userId: row.user_id,
    status: row.status as OrderView['status'],
    total: row.total === null ? null : Number(row.total),
    currency: row.currency,
    items: JSON.parse(row.items),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    reason: row.reason,
    carrier: row.carrier,
    trackingNumber: row.tracking_number,
  }
}

const withoutNulls = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null))
