import { type Static, Type } from '@sinclair/typebox'
import { Sku } from './inventory.ts'

const Money = Type.Number({ minimum: 0, description: 'non-negative, at most 2 decimals' })
const UserId = Type.String({ minLength: 1, maxLength: 128 })

export const OrderLine = Type.Object(
  {
    sku: Sku,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPrice: Money,
  },
  { additionalProperties: false },
)
export type OrderLine = Static<typeof OrderLine>

/** The body of `POST /orders`. Beyond the schema: money has at most 2 decimals, total = sum of lines. */
export const PlaceOrder = Type.Object(
  {
    userId: UserId,
    items: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
    total: Money,
  },
  { additionalProperties: false },
)
export type PlaceOrder = Static<typeof PlaceOrder>

/** `orders.created`, version 1 (key: userId). */
export const OrderCreatedV1 = Type.Object({
  orderId: Type.String({ minLength: 1 }),
  userId: UserId,
  items: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
  total: Money,
  createdAt: Type.String({ minLength: 1, description: 'ISO 8601 time the API accepted the order' }),
})
export type OrderCreatedV1 = Static<typeof OrderCreatedV1>
