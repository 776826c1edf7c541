import { decodeEvent, encodeEvent } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { InventoryRequest, LineResult } from '../../../schemas/inventory.ts'
import type { OrderCreatedV1 } from '../../../schemas/order.ts'
import type { OrderFailed, OrderReserved } from '../../../schemas/outcome.ts'
import { InvalidEventError } from '../../errors.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepContext, StepHandler } from '../runtime/transactional/types.ts'

/** An order's saga state, by orderId. Kept after the outcome so that a redelivered order is ignored. */
export interface Saga {
  order: OrderCreatedV1
  lines: Array<Pick<LineResult, 'status' | 'available'> | null>
  outcome?: 'reserved' | 'failed'
}

/**
 * The OrderActor of one partition of `orders.created` and, co-partitioned with it,
 * `inventory.line-results`. It splits each new order into one reservation request per line (keyed
 * by SKU, so each reaches the InventoryActor owning that SKU), joins the line results, and
 * publishes the outcome: `inventory.reserved` when every line is reserved, otherwise
 * `inventory.failed` plus a release of each reserved line (compensation).
 */
export function orderHandler(topics: TopicNames, source: string): StepHandler {
  return {
    stores: topology(topics).order.stores,
    handle(record, ctx) {
      if (record.topic === topics.ordersCreated) return start(ctx, decodeEvent(events.orderCreated, record), topics, source)
      if (record.topic === topics.lineResults) return join(ctx, decodeEvent(events.lineResult, record), topics, source)
      throw new InvalidEventError(`the order actor does not read ${record.topic}`)
    },
  }
}

/**
 * A new order, unless its orderId was seen: the OrderActor of the user's partition is where a
 * retried order (the same Idempotency-Key, published again by any api process) is recognised.
 */
function start(ctx: StepContext, order: OrderCreatedV1, topics: TopicNames, source: string): void {
  const seen = ctx.get<Saga>('sagas', order.orderId)
  if (seen) {
    if (sameOrder(seen.order, order)) return
    throw new InvalidEventError(`order ${order.orderId} was placed before with another body; this one is not placed`)
  }
  ctx.put<Saga>('sagas', order.orderId, { order, lines: order.items.map(() => null) })
  order.items.forEach((item, line) => {
    const request: InventoryRequest = { type: 'reserve', orderId: order.orderId, userId: order.userId, line, sku: item.sku, quantity: item.quantity }
    ctx.send({ topic: topics.inventoryRequests, key: item.sku, ...encodeEvent(events.inventoryRequest, request, source) })
  })
}

function join(ctx: StepContext, result: LineResult, topics: TopicNames, source: string): void {
  const saga = ctx.get<Saga>('sagas', result.orderId)
  if (!saga) throw new InvalidEventError(`line result for unknown order ${result.orderId}`)
  if (saga.outcome || saga.lines[result.line]) return
  const lines = saga.lines.map((l, i) => (i === result.line ? { status: result.status, available: result.available } : l))
  if (lines.some((l) => l === null)) {
    ctx.put<Saga>('sagas', result.orderId, { ...saga, lines })
    return
  }
  const { order } = saga
  const base = { orderId: order.orderId, userId: order.userId, lines: order.items, total: order.total }
  if (lines.every((l) => l!.status === 'reserved')) {
    const reserved: OrderReserved = base
    ctx.send({ topic: topics.reserved, key: order.userId, ...encodeEvent(events.orderReserved, reserved, source) })
    ctx.put<Saga>('sagas', order.orderId, { ...saga, lines, outcome: 'reserved' })
    return
  }
  const failed: OrderFailed = {
    ...base,
    shortLines: order.items.flatMap((item, i) =>
      lines[i]!.status === 'short' ? [{ sku: item.sku, requested: item.quantity, available: lines[i]!.available }] : [],
    ),
  }
  ctx.send({ topic: topics.failed, key: order.userId, ...encodeEvent(events.orderFailed, failed, source) })
  order.items.forEach((item, line) => {
    if (lines[line]!.status !== 'reserved') return
    const release: InventoryRequest = { type: 'release', orderId: order.orderId, line, sku: item.sku }
    ctx.send({ topic: topics.inventoryRequests, key: item.sku, ...encodeEvent(events.inventoryRequest, release, source) })
  })
  ctx.put<Saga>('sagas', order.orderId, { ...saga, lines, outcome: 'failed' })
}

/** The same order placed again (a retry), whatever the time it was published. */
function sameOrder(a: OrderCreatedV1, b: OrderCreatedV1): boolean {
  return a.userId === b.userId && a.total === b.total && JSON.stringify(a.items) === JSON.stringify(b.items)
}
