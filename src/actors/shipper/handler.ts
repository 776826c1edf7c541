import { createHash } from 'node:crypto'
import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { OrderShipped } from '../../../schemas/lifecycle.ts'
import type { TopicNames } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'

export const carriers = ['DHL', 'UPS', 'PostNL'] as const

/**
 * The carrier and tracking number of an order, derived from its id: a request handled again
 * (after an abort or a crash) ships with the same ones.
 */
export function shipmentOf(orderId: string): { carrier: string; trackingNumber: string } {
  const digest = createHash('sha256').update(orderId).digest()
  return { carrier: carriers[digest[0] % carriers.length], trackingNumber: `SHOP${digest.subarray(1, 7).toString('hex').toUpperCase()}` }
}

/** The shipper of one partition of `shipping.requests`: assigns a carrier and a tracking number, `order.shipped`. */
export function shipperHandler(topics: TopicNames, source: string): StepHandler {
  return {
    stores: {},
    handle(record, ctx) {
      const request = decodeEvent(events.shipRequest, record)
      const shipped: OrderShipped = { orderId: request.orderId, userId: request.userId, ...shipmentOf(request.orderId) }
      ctx.send(eventRecord(topics.shipped, events.orderShipped, shipped, source))
    },
  }
}
