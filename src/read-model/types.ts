import type { HistoryEntry, OrderView } from '../../schemas/api.ts'
import type { OrderStatus, OrderStatusChanged } from '../../schemas/lifecycle.ts'
import type { TopicPartition } from '../kafka/types.ts'

/** A record of `order.status` at `offset`; `change` is undefined for a record that could not be decoded (it only moves the offset). */
export interface ProjectedStep {
  offset: bigint
  change: OrderStatusChanged | undefined
}

/** The read model's rows are the API's bodies: one vocabulary (schemas/api.ts). */
export type { HistoryEntry, OrderView } from '../../schemas/api.ts'

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
