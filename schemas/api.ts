import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { Sku, StockLevel, StockQuantity } from './inventory.ts'
import { OrderStatus, OrderStatusChanged } from './lifecycle.ts'
import { Currency, OrderLine } from './order.ts'
import { OrderRateWindow } from './rate.ts'

/**
 * The bodies the HTTP API answers with. The routes' return types are these schemas' types, and the
 * OpenAPI document (`GET /openapi.json`, src/api/openapi.ts) shows these same schemas, so the
 * document cannot drift from what the routes send. Request bodies are in order.ts and inventory.ts.
 */

const Id = Type.String({ minLength: 1 })
const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** An RFC 9457 problem (`application/problem+json`): every error the API answers. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: '`urn:shop:error:<CODE>` for shop errors, `about:blank` otherwise' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ path: Type.String({ description: 'JSON pointer into the body, or `query:<name>`, `header:<name>`, `path:<name>`' }), message: Type.String() }), {
        description: 'every field at fault (400)',
      }),
    ),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details; some errors add members (e.g. orderId, orderStatus)' },
)

/** `POST /orders` answers 202 with it once the order is on `orders.created`. */
export const OrderAccepted = Type.Object({ orderId: Id, status: Type.Literal('pending') })
export type OrderAccepted = Static<typeof OrderAccepted>

/** One step of an order's history: the step as `order.status` carries it, without the order. */
export const HistoryEntry = Type.Pick(OrderStatusChanged, ['status', 'at', 'reason', 'note', 'carrier', 'trackingNumber'])
export type HistoryEntry = Static<typeof HistoryEntry>

/** An order as the read model holds it. */
export const OrderView = Type.Object({
  orderId: Id,
  userId: Id,
  status: OrderStatus,
  total: Nullable(Type.Number()),
  currency: Type.Union([Currency, Type.Null()], { description: 'of the total (ISO 4217); null when the total is' }),
  items: Type.Array(OrderLine),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  reason: Nullable(Type.String({ description: 'why the order failed or was cancelled' })),
  carrier: Nullable(Type.String()),
  trackingNumber: Nullable(Type.String()),
})
export type OrderView = Static<typeof OrderView>

/** `GET /orders/{id}`: the order with its history, or, before the projector has it, the order the API accepted. */
export const OrderDetails = Type.Union([
  Type.Composite([OrderView, Type.Object({ history: Type.Array(HistoryEntry, { description: 'oldest first' }) })]),
  Type.Object(
    { orderId: Id, userId: Id, status: Type.Literal('pending'), history: Type.Array(HistoryEntry, { maxItems: 0 }) },
    { description: 'accepted, not yet in the read model' },
  ),
])
export type OrderDetails = Static<typeof OrderDetails>

/** `GET /orders`: newest first; `next` is the cursor of the following page, null on the last. */
export const OrderPage = Type.Object({ orders: Type.Array(OrderView), next: Nullable(Type.String()) })
export type OrderPage = Static<typeof OrderPage>

/** `GET /analytics/order-rate`: the windows starting in [from, to), oldest first, as `metrics.order.rate` holds them. */
export const OrderRatePage = Type.Object({ from: Type.String(), to: Type.String(), windows: Type.Array(OrderRateWindow) })
export type OrderRatePage = Static<typeof OrderRatePage>

/** `POST /orders/{id}/cancel`: 202 `requested` (the OrderActor decides), or 200 `done` (it already is cancelled). */
export const CancelAnswer = Type.Object({ orderId: Id, status: OrderStatus, cancel: Type.Union([Type.Literal('requested'), Type.Literal('done')]) })
export type CancelAnswer = Static<typeof CancelAnswer>

/** `PUT /stock/{sku}` answers 202 with it: the level is on its way to the SKU's InventoryActor. */
export const StockAccepted = Type.Object({ sku: Sku, available: StockQuantity, status: Type.Literal('accepted') })
export type StockAccepted = Static<typeof StockAccepted>

/** `GET /stock/{sku}`. */
export { StockLevel }

export const Alive = Type.Object({ status: Type.Literal('alive') })
export const Ready = Type.Object({ status: Type.Literal('ready') })
