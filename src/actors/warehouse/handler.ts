import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { OrderPacked } from '../../../schemas/lifecycle.ts'
import { nowIso, sleep } from '../../time.ts'
import type { TopicNames } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'

/**
 * The warehouse of one partition of `warehouse.requests`: picks and packs each paid order (a
 * simulated `pickMs`), then publishes `order.packed` with the request's offset. Orders of a batch
 * are picked side by side, so one order never waits for another's pick.
 */
export function warehouseHandler(topics: TopicNames, pickMs: number, source: string): StepHandler {
  return {
    stores: {},
    concurrent: true,
    async handle(record, ctx) {
      const request = decodeEvent(events.packRequest, record)
      await sleep(pickMs)
      const packed: OrderPacked = { orderId: request.orderId, userId: request.userId, packedAt: nowIso() }
      ctx.send(eventRecord(topics.packed, events.orderPacked, packed, source))
    },
  }
}
