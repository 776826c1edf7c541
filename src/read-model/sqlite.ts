import type { Database } from 'bun:sqlite'
import type { TopicPartition } from '../kafka/types.ts'
import { openCache } from '../state/cache.ts'
import type { HistoryEntry, OrderQuery, OrderView, ProjectedStep, ReadModel } from './types.ts'

const schema = [
  `CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    total REAL,
    items TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reason TEXT,
    carrier TEXT,
    tracking_number TEXT
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

interface OrderRow {
  order_id: string
  user_id: string
  status: string
  total: number | null
  items: string
  created_at: string
  updated_at: string
  reason: string | null
  carrier: string | null
  tracking_number: string | null
}

/** The read model in bun:sqlite (`--read-model=sqlite:<path>`, by default under --data-dir). */
export class SqliteReadModel implements ReadModel {
  readonly #db: Database
  readonly #fold: (tp: TopicPartition, steps: ProjectedStep[]) => void

  constructor(path: string) {
    this.#db = openCache(path)
    for (const statement of schema) this.#db.run(statement)
    const db = this.#db
    const offsetOf = db.prepare<{ next_offset: string }, [string, number]>('SELECT next_offset FROM projection_offsets WHERE topic = ? AND partition = ?')
    const setOffset = db.prepare<void, [string, number, string]>('INSERT OR REPLACE INTO projection_offsets (topic, partition, next_offset) VALUES (?, ?, ?)')
    const insertOrder = db.prepare<void, [string, string, string, number | null, string, string, string]>(
      `INSERT INTO orders (order_id, user_id, status, total, items, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (order_id) DO NOTHING`,
    )
    const updateOrder = db.prepare<void, [string, string, string | null, string | null, string | null, string]>(
      `UPDATE orders SET status = ?, updated_at = ?, reason = coalesce(?, reason), carrier = coalesce(?, carrier), tracking_number = coalesce(?, tracking_number)
       WHERE order_id = ?`,
    )
    const nextSeq = db.prepare<{ seq: number }, [string]>('SELECT coalesce(max(seq), 0) + 1 AS seq FROM order_history WHERE order_id = ?')
    const insertHistory = db.prepare<void, [string, number, string, string, string | null, string | null, string | null, string | null]>(
      'INSERT INTO order_history (order_id, seq, status, at, reason, note, carrier, tracking_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.#fold = db.transaction(({ topic, partition }: TopicPartition, steps: ProjectedStep[]) => {
      let next = BigInt(offsetOf.get(topic, partition)?.next_offset ?? '0')
      for (const { offset, change: c } of steps) {
        if (offset < next) continue
        next = offset + 1n
        if (!c) continue
        // An order written before statuses carried it has no `pending` record: its first step makes the row.
        insertOrder.run(c.orderId, c.userId, c.status, c.order?.total ?? null, JSON.stringify(c.order?.items ?? []), c.order?.createdAt ?? c.at, c.at)
        updateOrder.run(c.status, c.at, c.reason ?? null, c.carrier ?? null, c.trackingNumber ?? null, c.orderId)
        insertHistory.run(c.orderId, nextSeq.get(c.orderId)!.seq, c.status, c.at, c.reason ?? null, c.note ?? null, c.carrier ?? null, c.trackingNumber ?? null)
      }
      setOffset.run(topic, partition, next.toString())
    })
  }

  async apply(tp: TopicPartition, steps: ProjectedStep[]): Promise<void> {
    if (steps.length > 0) this.#fold(tp, steps)
  }

  async offsets(topic: string): Promise<Map<number, bigint>> {
    const rows = this.#db.query<{ partition: number; next_offset: string }, [string]>('SELECT partition, next_offset FROM projection_offsets WHERE topic = ?').all(topic)
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]))
  }

  async get(orderId: string): Promise<{ order: OrderView; history: HistoryEntry[] } | undefined> {
    const row = this.#db.query<OrderRow, [string]>('SELECT * FROM orders WHERE order_id = ?').get(orderId)
    if (!row) return undefined
    const history = this.#db
      .query<{ status: string; at: string; reason: string | null; note: string | null; carrier: string | null; tracking_number: string | null }, [string]>(
        'SELECT status, at, reason, note, carrier, tracking_number FROM order_history WHERE order_id = ? ORDER BY seq',
      )
      .all(orderId)
      .map((h) => withoutNulls({ status: h.status, at: h.at, reason: h.reason, note: h.note, carrier: h.carrier, trackingNumber: h.tracking_number }) as unknown as HistoryEntry)
    return { order: toView(row), history }
  }

  async list(query: OrderQuery): Promise<OrderView[]> {
    const conditions: Array<[string, ...string[]]> = []
    if (query.status) conditions.push(['status = ?', query.status])
    if (query.userId) conditions.push(['user_id = ?', query.userId])
    if (query.after) conditions.push(['(created_at, order_id) < (?, ?)', query.after.createdAt, query.after.orderId])
    const where = conditions.length > 0 ? `WHERE ${conditions.map(([sql]) => sql).join(' AND ')}` : ''
    const params = conditions.flatMap(([, ...values]) => values)
    return this.#db
      .query<OrderRow, Array<string | number>>(`SELECT * FROM orders ${where} ORDER BY created_at DESC, order_id DESC LIMIT ?`)
      .all(...params, query.limit)
      .map(toView)
  }

  async reset(): Promise<void> {
    this.#db.transaction(() => {
      for (const table of ['orders', 'order_history', 'projection_offsets']) this.#db.run(`DELETE FROM ${table}`)
    })()
  }

  async close(): Promise<void> {
    this.#db.close()
  }
}

function toView(row: OrderRow): OrderView {
  return {
    orderId: row.order_id,
    userId: row.user_id,
    status: row.status as OrderView['status'],
    total: row.total,
    items: JSON.parse(row.items),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    reason: row.reason,
    carrier: row.carrier,
    trackingNumber: row.tracking_number,
  }
}

const withoutNulls = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null))
