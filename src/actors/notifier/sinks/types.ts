import type { OrderStatus } from '../../../../schemas/lifecycle.ts'

/** What a customer is told about an order. `id` is stable per (order, status): receivers dedupe on it. */
export interface Notification {
  id: string
  orderId: string
  userId: string
  status: OrderStatus
  message: string
}

/** A way to reach customers. `send` resolves once the notification is delivered, or rejects. */
export interface Sink {
  readonly name: string
  send(notification: Notification): Promise<void>
}
