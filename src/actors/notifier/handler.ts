import { decodeEvent } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { OrderFailed, OrderReserved } from '../../../schemas/outcome.ts'
import { InvalidEventError } from '../../errors.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'
import type { Notification, Sink } from './sinks/types.ts'

/**
 * The Notifier of one partition of the outcome topics. Each (order, outcome) goes once to each
 * sink: a delivery is recorded in the `notified` store in the transaction of the record's offset,
 * so a redelivered outcome skips the sinks that already have it. A sink that fails for good sends
 * the record to the dead-letter topic; the other sinks are unaffected.
 */
export function notifierHandler(topics: TopicNames, sinks: Sink[]): StepHandler {
  // Deliveries this process made whose record may not be committed yet. A sink is called before
  // the transaction commits; when that commit fails and the batch is handled again (in this
  // process, after a broker fault), the delivery is recorded again instead of repeated. Only a
  // move of the partition to another process can still repeat a delivery (at least once).
  const delivered = new Set<string>()
  return {
    stores: topology(topics).notifier.stores,
    async handle(record, ctx) {
      const notification = toNotification(record.topic, topics, record)
      for (const sink of sinks) {
        const key = `${notification.id}/${sink.name}`
        if (ctx.get('notified', key)) continue
        try {
          if (!delivered.has(key)) await sink.send(notification)
          remember(delivered, key)
          ctx.put('notified', key, { at: new Date().toISOString() })
        } catch (error) {
          ctx.deadLetter(error)
        }
      }
    },
  }
}

/** Deliveries remembered at most: far more than a batch in flight holds. */
const rememberedDeliveries = 100_000

function remember(delivered: Set<string>, key: string): void {
  delivered.add(key)
  if (delivered.size > rememberedDeliveries) delivered.delete(delivered.values().next().value!)
}

function toNotification(topic: string, topics: TopicNames, record: Parameters<StepHandler['handle']>[0]): Notification {
  if (topic === topics.reserved) {
    const o: OrderReserved = decodeEvent(events.orderReserved, record)
    const units = o.lines.reduce((n, l) => n + l.quantity, 0)
    return {
      id: `${o.orderId}/confirmed`,
      orderId: o.orderId,
      userId: o.userId,
      outcome: 'confirmed',
      message: `Order confirmed: ${units} item(s), total ${o.total.toFixed(2)}.`,
    }
  }
  if (topic === topics.failed) {
    const o: OrderFailed = decodeEvent(events.orderFailed, record)
    const short = o.shortLines.map((l) => `${l.sku} (requested ${l.requested}, available ${l.available})`).join(', ')
    return { id: `${o.orderId}/out_of_stock`, orderId: o.orderId, userId: o.userId, outcome: 'out_of_stock', message: `Out of stock: ${short}.` }
  }
  throw new InvalidEventError(`the notifier does not read ${topic}`)
}
