import { type Static, Type } from '@sinclair/typebox'
import { OrderStatus } from './lifecycle.ts'

const Id = Type.String({ minLength: 1 })

/** What a customer is told about an order. `id` is `<orderId>/<status>`: receivers dedupe on it. */
export const Notification = Type.Object({
  id: Type.String({ minLength: 1 }),
  orderId: Id,
  userId: Id,
  status: OrderStatus,
  message: Type.String(),
  /** When the order was accepted. */
  placedAt: Type.Optional(Type.String()),
})
export type Notification = Static<typeof Notification>

/** The sinks that reach the customer through the delivery outbox (the console is written in the step itself). */
export const outboundSinkNames = ['webhook', 'smtp'] as const
export type OutboundSinkName = (typeof outboundSinkNames)[number]

/**
 * `notification.requests` (key: userId): the notifier's outbox. The Notifier commits one request
 * per (notification, outbound sink) with the step that decided it; the notifier role's delivery
 * dispatcher reads them and performs each delivery, so a slow or failing receiver never holds up
 * the partition that decides what to tell.
 */
export const NotificationRequest = Type.Composite([Notification, Type.Object({ sink: Type.Union(outboundSinkNames.map((s) => Type.Literal(s))) })])
export type NotificationRequest = Static<typeof NotificationRequest>
