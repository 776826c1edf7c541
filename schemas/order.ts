import { type Static, Type } from '@sinclair/typebox'
import { Sku } from './inventory.ts'

/**
 * Money in the currency's major unit with at most 2 decimals (checked in integer cents by the API).
 * Bounded so that every amount, and every sum of an order, is an exact number of cents in a double.
 */
const UnitPrice = Type.Number({ minimum: 0, maximum: 1_000_000, description: 'non-negative, at most 2 decimals, at most 1,000,000.00' })
/** Money in whole cents: the integer nearest `amount` x 100 (sums of cents are exact; sums of doubles drift). */
export const toCents = (amount: number): number => Math.round(amount * 100)

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

/**
 * ISO 4217 code of the currency the order's prices and total are in. Version 2 of the order event
 * adds it: a shop that sells in more than one market cannot sum or charge a total without it.
 * Orders written before (version 1) were all in the shop's one currency, EUR, the default.
 */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. EUR, USD, GBP' })
export const defaultCurrency = 'EUR'

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
    currency: Type.Optional({ ...Currency, description: `${Currency.description} (default ${defaultCurrency})` }),
  },
  { additionalProperties: false },
)
export type PlaceOrder = Static<typeof PlaceOrder>


const orderFields = {
  orderId: Type.String({ minLength: 1 }),
  userId: UserId,
  items: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
  total: Total,
  createdAt: Type.String({ minLength: 1, description: 'ISO 8601 time the API accepted the order' }),
}

/** `orders.created`, version 1 (key: userId). */
export const OrderCreatedV1 = Type.Object(orderFields, { additionalProperties: false })
export type OrderCreatedV1 = Static<typeof OrderCreatedV1>

/** `orders.created`, version 2 (key: userId): version 1 and the currency (BACKWARD compatible: it has a default). */
export const OrderCreatedV2 = Type.Object({ ...orderFields, currency: Type.Optional({ ...Currency, default: defaultCurrency }) }, { additionalProperties: false })
/** An order as every reader sees it, whichever version it was written in: the currency filled. */
export type OrderCreated = Static<typeof OrderCreatedV1> & { currency: string }
