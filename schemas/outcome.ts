import { type Static, Type } from '@sinclair/typebox'
import { OrderLine } from './order.ts'

/** `inventory.reserved` (key: userId): every line of the order is reserved. */
export const OrderReserved = Type.Object({
  orderId: Type.String({ minLength: 1 }),
  userId: Type.String({ minLength: 1 }),
  lines: Type.Array(OrderLine),
  total: Type.Number({ minimum: 0 }),
})
export type OrderReserved = Static<typeof OrderReserved>

/** `inventory.failed` (key: userId): some line was short; the reserved lines are being released. */
export const OrderFailed = Type.Object({
  orderId: Type.String({ minLength: 1 }),
  userId: Type.String({ minLength: 1 }),
  lines: Type.Array(OrderLine),
  total: Type.Number({ minimum: 0 }),
  shortLines: Type.Array(
    Type.Object({ sku: Type.String(), requested: Type.Integer(), available: Type.Integer() }),
  ),
})
export type OrderFailed = Static<typeof OrderFailed>
