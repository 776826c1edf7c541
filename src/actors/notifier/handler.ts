import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { OrderStatus, OrderStatusChanged } from '../../../schemas/lifecycle.ts'
import type { NotificationRequest, OutboundSinkName } from '../../../schemas/notification.ts'
import { InvalidEventError } from '../../errors.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'
import type { Expiring } from '../../state/changelog-store.ts'
import { RecentDeliveries } from './recent-deliveries.ts'
import type { Notification, Sink } from './sinks/types.ts'

/**
 * The Notifier of one partition of `order.status`: it decides what the customer is told when an
 * order is confirmed (reserved), out of stock, declined, shipped or cancelled, and hands it to
 * each sink once:
 * - the console line is written in the step and recorded in the `notified` store in the
 *   transaction of the record's offset, so a redelivered status skips it;
 * - each outbound sink (webhook, smtp) gets a request on `notification.requests`, committed in
 *   the same transaction (exactly once), which the delivery dispatcher performs (see delivery.ts).
 */
export function notifierHandler(topics: TopicNames, sinks: { console?: Sink; outbound: readonly OutboundSinkName[] }, source = 'shop/notifier'): StepHandler {
  // A console line written again after a failed commit is recorded, not repeated. Only a move of
  // the partition to another process can still repeat one (at least once).
  const delivered = new RecentDeliveries()
  return {
    stores: topology(topics).notifier.stores,
    async handle(record, ctx) {
      const notification = toNotification(record.topic, topics, record)
      if (!notification) return
      for (const sink of sinks.outbound) {
        const request: NotificationRequest = { ...notification, sink }
        ctx.send(eventRecord(topics.notificationRequests, events.notificationRequest, request, source))
      }
      if (!sinks.console) return
      const key = `${notification.id}/${sinks.console.name}`
      if (ctx.get('notified', key)) return
      try {
        if (!delivered.has(key)) await sinks.console.send(notification)
        delivered.add(key)
        // A mark is done at once: it is kept for the deduplication window against redelivery.
        ctx.put<Expiring>('notified', key, { doneAt: Date.now() })
      } catch (error) {
        ctx.deadLetter(error)
      }
    },
  }
}

/** What the customer is told at each status a customer cares about. */
const messages: Partial<Record<OrderStatus, (change: OrderStatusChanged) => string>> = {
  reserved: () => 'Order confirmed: every item is reserved; payment is next.',
  out_of_stock: (c) => `Out of stock: ${c.reason}.`,
  payment_failed: (c) => `Payment failed (${c.reason}); nothing was charged and the order is closed.`,
  shipped: (c) => `Shipped with ${c.carrier}, tracking number ${c.trackingNumber}.`,
  cancelled: () => 'Order cancelled; any payment is refunded.',
}

/** The statuses the customer is told of (a status change with a note is not told again). */
export const toldStatuses: ReadonlySet<OrderStatus> = new Set(Object.keys(messages) as OrderStatus[])

/** The notification of a status change, or undefined when the customer is not told of it. */
function toNotification(topic: string, topics: TopicNames, record: Parameters<StepHandler['handle']>[0]): Notification | undefined {
  if (topic !== topics.orderStatus) throw new InvalidEventError(`the notifier does not read ${topic}`)
  const change = decodeEvent(events.orderStatus, record)
  // A note (a refund, a refused cancel) keeps the status the customer was already told of.
  const message = change.note === undefined ? messages[change.status] : undefined
  if (!message) return undefined
  const { orderId, userId, status, placedAt } = change
  return { id: `${orderId}/${status}`, orderId, userId, status, message: message(change), ...(placedAt === undefined ? {} : { placedAt }) }
}
