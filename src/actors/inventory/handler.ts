import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { LineResult, ReserveLine, StockLevel } from '../../../schemas/inventory.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepContext, StepHandler } from '../runtime/transactional/types.ts'
import type { Expiring } from '../../state/changelog-store.ts'

/**
 * A line's reservation, by `${orderId}/${line}`: makes reserve and release idempotent. Once short,
 * released or shipped it is done (`doneAt`), and deleted after the deduplication window.
 */
export interface Reservation extends Expiring {
  sku: string
  quantity: number
  status: 'reserved' | 'short' | 'released' | 'shipped'
  /** Available units right after the decision. */
  available: number
}

const reservationKey = (orderId: string, line: number) => `${orderId}/${line}`

/**
 * The InventoryActor of one `inventory.requests` partition: the single writer of the stock of the
 * SKUs that hash there. A line is reserved when enough units are available, else it is short;
 * either way the answer goes to `inventory.line-results`, keyed by user so that it reaches the
 * partition of its order. A release gives a reserved line's units back; a shipment takes them
 * out of `reserved` (they left the warehouse); a set replaces the available level. A request seen before is answered as before and changes nothing.
 */
export function inventoryHandler(topics: TopicNames, source: string): StepHandler {
  return {
    stores: topology(topics).inventory.stores,
    handle(record, ctx) {
      const request = decodeEvent(events.inventoryRequest, record)
      switch (request.type) {
        case 'set':
          ctx.put<StockLevel>('stock', request.sku, { ...stockOf(ctx, request.sku), available: request.quantity })
          return
        case 'reserve':
          return reserve(ctx, request, topics, source)
        case 'release':
        case 'ship': {
          const key = reservationKey(request.orderId, request.line)
          const held = ctx.get<Reservation>('reservations', key)
          if (held?.status !== 'reserved') return
          const stock = stockOf(ctx, held.sku)
          const back = request.type === 'release' ? held.quantity : 0
          const after = { ...stock, available: stock.available + back, reserved: stock.reserved - held.quantity }
          ctx.put<StockLevel>('stock', held.sku, after)
          ctx.put<Reservation>('reservations', key, { ...held, status: request.type === 'release' ? 'released' : 'shipped', available: after.available, doneAt: Date.now() })
          return
        }
      }
    },
  }
}

function reserve(ctx: StepContext, request: ReserveLine, topics: TopicNames, source: string): void {
  const key = reservationKey(request.orderId, request.line)
  let decided = ctx.get<Reservation>('reservations', key)
  if (!decided) {
    const stock = stockOf(ctx, request.sku)
    if (stock.available >= request.quantity) {
      const after = { ...stock, available: stock.available - request.quantity, reserved: stock.reserved + request.quantity }
      ctx.put<StockLevel>('stock', request.sku, after)
      decided = { sku: request.sku, quantity: request.quantity, status: 'reserved', available: after.available }
    } else {
      decided = { sku: request.sku, quantity: request.quantity, status: 'short', available: stock.available, doneAt: Date.now() }
    }
    ctx.put('reservations', key, decided)
  }
  const result: LineResult = {
    orderId: request.orderId,
    userId: request.userId,
    line: request.line,
    sku: request.sku,
    quantity: request.quantity,
    // A released or shipped line was reserved when it was decided; the order has its outcome already.
    status: decided.status === 'short' ? 'short' : 'reserved',
    available: decided.available,
  }
  ctx.send(eventRecord(topics.lineResults, events.lineResult, result, source))
}

function stockOf(ctx: StepContext, sku: string): StockLevel {
  return ctx.get<StockLevel>('stock', sku) ?? { sku, available: 0, reserved: 0 }
}
