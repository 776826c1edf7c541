import type { OrderStatus, OrderStatusChanged } from '../../schemas/lifecycle.ts'
import type { OrderLine } from '../../schemas/order.ts'
import type { TopicPartition } from '../kafka/types.ts'

/** A record of `order.status` at `offset`; `change` is undefined for a record that could not be decoded (it only moves the offset). */
export interface ProjectedStep {
  offset: bigint
  change: OrderStatusChanged | undefined
}

/** One step of an order's history, as `GET /orders/{id}` shows it. */
export interface HistoryEntry {
  status: OrderStatus
  at: string
  reason?: string
  note?: string
  carrier?: string
  trackingNumber?: string
}

/** An order as the read model holds it. */
export interface OrderView {
  orderId: string
  userId: string
  status: OrderStatus
  total: number | null
  items: OrderLine[]
  createdAt: string
  updatedAt: string
  reason: string | null
  carrier: string | null
  trackingNumber: string | null
}

export interface OrderQuery {
  status?: OrderStatus
  userId?: string
  limit: number
  /** Where the previous page ended (its `next`). */
  after?: { createdAt: string; orderId: string }
}

/**
 * The read model: every order's current state and history, folded from `order.status`. The topic
 * is the truth; the projection can be dropped and rebuilt from it. `apply` is exactly once: the
 * consumed offsets are stored in the same database transaction as the rows, and a record at or
 * below the stored offset of its partition is skipped.
 */
export interface ReadModel {
  /** Folds the steps of one partition (offset order) into the tables with their offsets, atomically. */
  apply(tp: TopicPartition, steps: ProjectedStep[]): Promise<void>
  /** The next offset to project of each partition of `topic` (0 when none was). */
  offsets(topic: string): Promise<Map<number, bigint>>
  get(orderId: string): Promise<{ order: OrderView; history: HistoryEntry[] } | undefined>
  /** Newest first (by creation time, then id). */
  list(query: OrderQuery): Promise<OrderView[]>
  /** Drops every row and offset: the next apply starts the projection again. */
  reset(): Promise<void>
  close(): Promise<void>
}
