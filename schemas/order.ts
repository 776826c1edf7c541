import { type Static, Type } from '@sinclair/typebox'
import { Sku } from './inventory.ts'

/**
 * Money in the currency's major unit with at most 2 decimals (checked in integer cents by the API).
 * Bounded so that every amount, and every sum of an order, is an exact number of cents in a double.
 */
const UnitPrice = Type.Number({ minimum: 0, maximum: 1_000_000, description: 'non-negative, at most 2 decimals, at most 1,000,000.00' })
const Total = Type.Number({ minimum: 0, maximum: 1_000_000_000_000, description: 'non-negative, at most 2 decimals; the sum of the lines' })

/**
 * Text a person chose (a user id): not blank, no control characters, no lone surrogates (which
 * no UTF-8 encoding can carry). Written without the `u` flag, as JSON Schema patterns are.
 */
export const Text = (options: { maxLength: number }) =>
  Type.String({
    minLength: 1,
    maxLength: options.maxLength,
    pattern: '^(?=[\\s\\S]*\\S)(?:[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$',
  })
const UserId = Text({ maxLength: 128 })

export const OrderLine = Type.Object(
  {
    sku: Sku,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPrice: UnitPrice,
  },
  { additionalProperties: false },
)
export type OrderLine = Static<typeof OrderLine>

/** The body of `POST /orders`. Beyond the schema: money has at most 2 decimals, total = sum of lines. */
export const PlaceOrder = Type.Object(
  {
    userId: UserId,
    items: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
    total: Total,
  },
  { additionalProperties: false },
)
export type PlaceOrder = Static<typeof PlaceOrder>

/** `orders.created`, version 1 (key: userId). */
export const OrderCreatedV1 = Type.Object({
  orderId: Type.String({ minLength: 1 }),
  userId: UserId,
  items: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
  total: Total,
  createdAt: Type.String({ minLength: 1, description: 'ISO 8601 time the API accepted the order' }),
})
export type OrderCreatedV1 = Static<typeof OrderCreatedV1>
