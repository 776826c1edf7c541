import { type Static, Type } from '@sinclair/typebox'
import { Currency, OrderLine } from './order.ts'

/**
 * An order's statuses: the one vocabulary of the API, the read model and the notifications.
 * `shipped`, `out_of_stock`, `payment_failed` and `cancelled` are final.
 */
export const orderStatuses = ['pending', 'reserved', 'paid', 'packed', 'shipped', 'out_of_stock', 'payment_failed', 'cancelled'] as const
export type OrderStatus = (typeof orderStatuses)[number]
export const OrderStatus = Type.Union(orderStatuses.map((s) => Type.Literal(s)))
export const finalStatuses: ReadonlySet<OrderStatus> = new Set(['shipped', 'out_of_stock', 'payment_failed', 'cancelled'])

const Id = Type.String({ minLength: 1 })
const Amount = Type.Number({ minimum: 0 })

/**
 * `order.status` (key: userId): every step of an order's life, written by the OrderActor of the
 * user's partition, the single writer of the order's status. The read model and the notifier read
 * only this topic. The first record of an order (`pending`) carries the order itself.
 */
export const OrderStatusChanged = Type.Object({
  orderId: Id,
  userId: Id,
  status: OrderStatus,
  /** ISO 8601 time the step was taken. */
  at: Type.String({ minLength: 1 }),
  order: Type.Optional(Type.Object({ items: Type.Array(OrderLine), total: Amount, currency: Type.Optional(Currency), createdAt: Type.String() })),
  /** When the order was accepted (its `createdAt`): end-to-end latency is measured from it. */
  placedAt: Type.Optional(Type.String()),
  /** Why an order failed or a request was refused (`limit_exceeded`, `SKU-1 (requested 2, available 1)`, ...). */
  reason: Type.Optional(Type.String()),
  carrier: Type.Optional(Type.String()),
  trackingNumber: Type.Optional(Type.String()),
  /** A step that kept the status: `refunded 12.50`, `cancel refused: the order is with the shipper`. */
  note: Type.Optional(Type.String()),
})
export type OrderStatusChanged = Static<typeof OrderStatusChanged>

/**
 * `payment.requests` (key: userId): an intent the OrderActor committed with its step; the payment
 * role's dispatcher performs it with the provider (idempotency key: `charge:<orderId>` or
 * `refund:<orderId>`) and publishes the result.
 */
export const PaymentRequest = Type.Object({
  type: Type.Union([Type.Literal('charge'), Type.Literal('refund')]),
  orderId: Id,
  userId: Id,
  amount: Amount,
})
export type PaymentRequest = Static<typeof PaymentRequest>

/** `payment.processed` (key: userId): the provider charged the order. */
export const PaymentProcessed = Type.Object({ orderId: Id, userId: Id, amount: Amount, paymentId: Id })
export type PaymentProcessed = Static<typeof PaymentProcessed>

/** `payment.failed` (key: userId): the provider declined the charge; nothing was charged. */
export const PaymentFailed = Type.Object({ orderId: Id, userId: Id, amount: Amount, reason: Id })
export type PaymentFailed = Static<typeof PaymentFailed>

/** `payment.refunded` (key: userId): the charge of a cancelled order was refunded. */
export const PaymentRefunded = Type.Object({ orderId: Id, userId: Id, amount: Amount, refundId: Id })
export type PaymentRefunded = Static<typeof PaymentRefunded>

/** `warehouse.requests` (key: userId): pick and pack a paid order. */
export const PackRequest = Type.Object({ orderId: Id, userId: Id, items: Type.Array(OrderLine) })
export type PackRequest = Static<typeof PackRequest>

/** `order.packed` (key: userId). */
export const OrderPacked = Type.Object({ orderId: Id, userId: Id, packedAt: Type.String({ minLength: 1 }) })
export type OrderPacked = Static<typeof OrderPacked>

/** `shipping.requests` (key: userId): hand a packed order to a carrier. */
export const ShipRequest = Type.Object({ orderId: Id, userId: Id })
export type ShipRequest = Static<typeof ShipRequest>

/** `order.shipped` (key: userId). */
export const OrderShipped = Type.Object({ orderId: Id, userId: Id, carrier: Id, trackingNumber: Id })
export type OrderShipped = Static<typeof OrderShipped>

/** `order.cancel-requests` (key: userId): a customer asked to cancel; the OrderActor decides. */
export const CancelRequest = Type.Object({ orderId: Id, userId: Id, requestedAt: Type.String({ minLength: 1 }) })
export type CancelRequest = Static<typeof CancelRequest>
