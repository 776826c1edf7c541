import type { Static } from '@sinclair/typebox'
import { events } from '../../../schemas/events.ts'
import type { InventoryRequest, LineResult } from '../../../schemas/inventory.ts'
import { type OrderStatus, type OrderStatusChanged, type PaymentRequest, finalStatuses, orderStatuses } from '../../../schemas/lifecycle.ts'
import type { OrderCreated } from '../../../schemas/order.ts'
import type { OrderFailed, OrderReserved } from '../../../schemas/outcome.ts'
import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { InvalidEventError } from '../../errors.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepContext, StepHandler } from '../runtime/transactional/types.ts'
import type { Expiring } from '../../state/changelog-store.ts'
import { type Metrics, secondsSince } from '../../observability/metrics.ts'
import { nowIso } from '../../time.ts'

/**
 * An order's saga state, by orderId. Kept for the deduplication window after the order is final
 * (`doneAt`), so that a retried order and late results are recognised; then deleted.
 */
export interface Saga extends Expiring {
  /** As read, in either version; sagas written before version 2 have no currency (EUR). */
  order: OrderCreated
  lines: Array<Pick<LineResult, 'status' | 'available'> | null>
  status: OrderStatus
  /** A cancel arrived while lines were still being reserved: the order is cancelled once they are settled. */
  cancelRequested?: boolean
  /** The order was charged (and not refunded yet): a cancel must refund it. */
  charged?: boolean
}

/**
 * The OrderActor of one partition of the user-keyed topics: the single writer of each order's
 * saga, so every decision about an order (reserve, charge, pack, ship, cancel) is taken in one
 * place, in order. It splits a new order into one reservation request per line (keyed by SKU, so
 * each reaches the InventoryActor owning that SKU), joins the line results, then drives the order
 * through payment, pick-and-pack and shipping by writing requests and reading their results.
 * Every step is written to `order.status`. Compensation: a short line, a declined payment or a
 * cancel releases the reserved lines; a cancel after the charge refunds it.
 */
export function orderHandler(topics: TopicNames, source: string, metrics: Metrics): StepHandler {
  for (const status of orderStatuses) metrics.orderStatuses.inc({ status }, 0)
  const step = new Steps(topics, source, metrics)
  const readers: Record<string, (record: ConsumedRecord, ctx: StepContext) => void> = {
    [topics.ordersCreated]: (r, ctx) => step.start(ctx, decodeEvent(events.orderCreated, r) as OrderCreated),
    [topics.lineResults]: (r, ctx) => step.join(ctx, decodeEvent(events.lineResult, r)),
    [topics.paymentProcessed]: (r, ctx) => step.paid(ctx, decodeEvent(events.paymentProcessed, r)),
    [topics.paymentFailed]: (r, ctx) => step.declined(ctx, decodeEvent(events.paymentFailed, r)),
    [topics.paymentRefunded]: (r, ctx) => step.refunded(ctx, decodeEvent(events.paymentRefunded, r)),
    [topics.packed]: (r, ctx) => step.packed(ctx, decodeEvent(events.orderPacked, r)),
    [topics.shipped]: (r, ctx) => step.shipped(ctx, decodeEvent(events.orderShipped, r)),
    [topics.cancelRequests]: (r, ctx) => step.cancel(ctx, decodeEvent(events.cancelRequest, r)),
  }
  return {
    stores: topology(topics).order.stores,
    handle(record, ctx) {
      const read = readers[record.topic]
      if (!read) throw new InvalidEventError(`the order actor does not read ${record.topic}`)
      read(record, ctx)
    },
  }
}

class Steps {
  constructor(
    private readonly topics: TopicNames,
    private readonly source: string,
    private readonly metrics: Metrics,
  ) {}

  /**
   * A new order, unless its orderId was seen: the OrderActor of the user's partition is where a
   * retried order (the same Idempotency-Key, published again by any api process) is recognised.
   */
  start(ctx: StepContext, order: OrderCreated): void {
    const seen = sagaOf(ctx, order.orderId)
    if (seen) {
      if (sameOrder(seen.order, order)) return
      throw new InvalidEventError(`order ${order.orderId} was placed before with another body; this one is not placed`)
    }
    // A cancel that overtook its order (see `cancel`) is taken now, as a cancel while pending.
    const early = ctx.get<Expiring>('sagas', earlyCancelKey(order.orderId))
    if (early) ctx.put('sagas', earlyCancelKey(order.orderId), undefined)
    const saga: Saga = { order, lines: order.items.map(() => null), status: 'pending', ...(early ? { cancelRequested: true } : {}) }
    this.#status(ctx, saga, { order: { items: order.items, total: order.total, currency: order.currency, createdAt: order.createdAt } })
    order.items.forEach((item, line) => {
      const request: InventoryRequest = { type: 'reserve', orderId: order.orderId, userId: order.userId, line, sku: item.sku, quantity: item.quantity }
      ctx.send(eventRecord(this.topics.inventoryRequests, events.inventoryRequest, request, this.source))
    })
  }

  join(ctx: StepContext, result: LineResult): void {
    const saga = sagaOf(ctx, result.orderId)
    if (!saga) throw new InvalidEventError(`line result for unknown order ${result.orderId}`)
    if (saga.status !== 'pending' || saga.lines[result.line]) return
    const lines = saga.lines.map((l, i) => (i === result.line ? { status: result.status, available: result.available } : l))
    const next: Saga = { ...saga, lines }
    if (lines.some((l) => l === null)) {
      ctx.put<Saga>('sagas', result.orderId, next)
      return
    }
    const { order } = saga
    const base = { orderId: order.orderId, userId: order.userId, lines: order.items, total: order.total }
    if (saga.cancelRequested) {
      this.#settleLines(ctx, next, 'release')
      this.#status(ctx, { ...next, status: 'cancelled' })
      return
    }
    if (lines.every((l) => l!.status === 'reserved')) {
      const reserved: OrderReserved = base
      ctx.send(eventRecord(this.topics.reserved, events.orderReserved, reserved, this.source))
      this.#status(ctx, { ...next, status: 'reserved' })
      const charge: PaymentRequest = { type: 'charge', orderId: order.orderId, userId: order.userId, amount: order.total }
      ctx.send(eventRecord(this.topics.paymentRequests, events.paymentRequest, charge, this.source))
      return
    }
    const shortLines = order.items.flatMap((item, i) => (lines[i]!.status === 'short' ? [{ sku: item.sku, requested: item.quantity, available: lines[i]!.available }] : []))
    const failed: OrderFailed = { ...base, shortLines }
    ctx.send(eventRecord(this.topics.failed, events.orderFailed, failed, this.source))
    this.#settleLines(ctx, next, 'release')
    const reason = shortLines.map((l) => `${l.sku} (requested ${l.requested}, available ${l.available})`).join(', ')
    this.#status(ctx, { ...next, status: 'out_of_stock' }, { reason })
  }

  paid(ctx: StepContext, payment: Static<typeof events.paymentProcessed.schema>): void {
    const saga = this.#known(ctx, payment.orderId)
    if (saga.status === 'reserved') {
      this.#status(ctx, { ...saga, status: 'paid', charged: true })
      ctx.send(eventRecord(this.topics.warehouseRequests, events.packRequest, { orderId: saga.order.orderId, userId: saga.order.userId, items: saga.order.items }, this.source))
      return
    }
    // Cancelled while the charge was in flight: give the money back.
    if (saga.status === 'cancelled' && !saga.charged) {
      ctx.put<Saga>('sagas', saga.order.orderId, { ...saga, charged: true })
      this.#refund(ctx, saga)
    }
  }

  declined(ctx: StepContext, failure: Static<typeof events.paymentFailed.schema>): void {
    const saga = this.#known(ctx, failure.orderId)
    if (saga.status !== 'reserved') return
    this.#settleLines(ctx, saga, 'release')
    this.#status(ctx, { ...saga, status: 'payment_failed' }, { reason: failure.reason })
  }

  refunded(ctx: StepContext, refund: Static<typeof events.paymentRefunded.schema>): void {
    const saga = this.#known(ctx, refund.orderId)
    if (!saga.charged) return
    this.#status(ctx, { ...saga, charged: false }, { note: `refunded ${refund.amount.toFixed(2)}` })
  }

  packed(ctx: StepContext, packed: Static<typeof events.orderPacked.schema>): void {
    const saga = this.#known(ctx, packed.orderId)
    if (saga.status !== 'paid') return
    this.#status(ctx, { ...saga, status: 'packed' })
    ctx.send(eventRecord(this.topics.shippingRequests, events.shipRequest, { orderId: saga.order.orderId, userId: saga.order.userId }, this.source))
  }

  shipped(ctx: StepContext, shipped: Static<typeof events.orderShipped.schema>): void {
    const saga = this.#known(ctx, shipped.orderId)
    if (saga.status !== 'packed') return
    this.#settleLines(ctx, saga, 'ship')
    this.#status(ctx, { ...saga, status: 'shipped' }, { carrier: shipped.carrier, trackingNumber: shipped.trackingNumber })
  }

  /**
   * A cancel is taken until the order is handed to the shipper (status `packed`): stock is
   * released, a charge refunded, and the order ends `cancelled`. Later, or for a failed order, it
   * is refused, and the refusal is in the order's history.
   */
  cancel(ctx: StepContext, request: Static<typeof events.cancelRequest.schema>): void {
    const saga = sagaOf(ctx, request.orderId)
    if (!saga) {
      // The api publishes a cancel only for an order it knows was accepted, but the two travel on
      // two topics: after a rebalance or a restart the cancel may be read first. It waits for its
      // order (for the deduplication window; an order that never comes leaves nothing behind).
      ctx.put<Expiring>('sagas', earlyCancelKey(request.orderId), { doneAt: Date.now() })
      return
    }
    switch (saga.status) {
      case 'pending':
        if (!saga.cancelRequested) ctx.put<Saga>('sagas', request.orderId, { ...saga, cancelRequested: true })
        return
      case 'reserved':
      case 'paid': {
        this.#settleLines(ctx, saga, 'release')
        if (saga.charged) this.#refund(ctx, saga)
        this.#status(ctx, { ...saga, status: 'cancelled' })
        return
      }
      case 'cancelled':
        return
      default:
        this.#status(ctx, saga, { note: `cancel refused: the order is ${saga.status}` })
    }
  }

  #known(ctx: StepContext, orderId: string): Saga {
    const saga = sagaOf(ctx, orderId)
    if (!saga) throw new InvalidEventError(`result for unknown order ${orderId}`)
    return saga
  }

  /** Records the saga (done when its status is final) and writes the step to `order.status`. */
  #status(ctx: StepContext, saga: Saga, detail: Partial<OrderStatusChanged> = {}): void {
    const done = saga.doneAt === undefined && finalStatuses.has(saga.status) ? { doneAt: Date.now() } : {}
    ctx.put<Saga>('sagas', saga.order.orderId, { ...saga, ...done })
    const change: OrderStatusChanged = { orderId: saga.order.orderId, userId: saga.order.userId, status: saga.status, at: nowIso(), placedAt: saga.order.createdAt, ...detail }
    ctx.send(eventRecord(this.topics.orderStatus, events.orderStatus, change, this.source))
    if (detail.note !== undefined) return
    const { status } = saga
    ctx.afterCommit(() => {
      this.metrics.orderStatuses.inc({ status })
      const outcome = status === 'reserved' ? 'reserved' : status === 'out_of_stock' ? 'failed' : undefined
      if (outcome) this.metrics.outcomeLatency.observe({ outcome }, secondsSince(saga.order.createdAt))
    })
  }

  /**
   * Tells each reserved line's InventoryActor that its units go back to the stock (`release`, the
   * compensation) or left with the order (`ship`).
   */
  #settleLines(ctx: StepContext, saga: Saga, type: 'release' | 'ship'): void {
    saga.order.items.forEach((item, line) => {
      if (saga.lines[line]?.status !== 'reserved') return
      const request: InventoryRequest = { type, orderId: saga.order.orderId, line, sku: item.sku }
      ctx.send(eventRecord(this.topics.inventoryRequests, events.inventoryRequest, request, this.source))
    })
  }

  #refund(ctx: StepContext, saga: Saga): void {
    const refund: PaymentRequest = { type: 'refund', orderId: saga.order.orderId, userId: saga.order.userId, amount: saga.order.total }
    ctx.send(eventRecord(this.topics.paymentRequests, events.paymentRequest, refund, this.source))
  }
}

/** Where a cancel that arrived before its order waits, in the saga store. */
const earlyCancelKey = (orderId: string) => `cancel-before-order:${orderId}`

/** The saga of `orderId`; sagas written before statuses existed carry `outcome` instead. */
function sagaOf(ctx: StepContext, orderId: string): Saga | undefined {
  const saga = ctx.get<Saga & { outcome?: 'reserved' | 'failed' }>('sagas', orderId)
  if (!saga || saga.status) return saga
  return { ...saga, status: saga.outcome === 'reserved' ? 'reserved' : saga.outcome === 'failed' ? 'out_of_stock' : 'pending' }
}

/** The same order placed again (a retry), whatever the time it was published. */
function sameOrder(a: OrderCreated, b: OrderCreated): boolean {
  return a.userId === b.userId && a.total === b.total && (a.currency ?? 'EUR') === b.currency && JSON.stringify(a.items) === JSON.stringify(b.items)
}
