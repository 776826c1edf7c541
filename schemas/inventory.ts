import { type Static, Type } from '@sinclair/typebox'

/** A stock-keeping unit: 1 to 64 of A-Z a-z 0-9 . _ : - */
export const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' })

/**
 * `inventory.requests` (key: sku). The InventoryActor owning the SKU's partition is the single
 * writer of its stock: reservations from orders, releases (compensation), shipments (the reserved
 * units leave the warehouse), and stock levels set by operators all arrive here.
 */
export const ReserveLine = Type.Object({
  type: Type.Literal('reserve'),
  orderId: Type.String({ minLength: 1 }),
  userId: Type.String({ minLength: 1 }),
  line: Type.Integer({ minimum: 0 }),
  sku: Sku,
  quantity: Type.Integer({ minimum: 1 }),
})
/** `release` gives a reserved line's units back to `available`; `ship` takes them out of `reserved` for good. */
export const ReleaseLine = Type.Object({
  type: Type.Union([Type.Literal('release'), Type.Literal('ship')]),
  orderId: Type.String({ minLength: 1 }),
  line: Type.Integer({ minimum: 0 }),
  sku: Sku,
})
/** A stock level: whole units, at most a billion. */
export const StockQuantity = Type.Integer({ minimum: 0, maximum: 1_000_000_000 })

export const SetStock = Type.Object({
  type: Type.Literal('set'),
  sku: Sku,
  quantity: StockQuantity,
})
export const InventoryRequest = Type.Union([ReserveLine, ReleaseLine, SetStock])
export type InventoryRequest = Static<typeof InventoryRequest>
export type ReserveLine = Static<typeof ReserveLine>

/** `inventory.line-results` (key: userId, so it lands on the partition of its order). */
export const LineResult = Type.Object({
  orderId: Type.String({ minLength: 1 }),
  userId: Type.String({ minLength: 1 }),
  line: Type.Integer({ minimum: 0 }),
  sku: Sku,
  quantity: Type.Integer({ minimum: 1 }),
  status: Type.Union([Type.Literal('reserved'), Type.Literal('short')]),
  /** Units available when the line was decided (after it, when reserved). */
  available: Type.Integer({ minimum: 0 }),
})
export type LineResult = Static<typeof LineResult>

/** The body of `PUT /stock/{sku}`. */
export const StockUpdate = Type.Object({ quantity: StockQuantity }, { additionalProperties: false })

/** A SKU's stock as the InventoryActor keeps it (stock changelog value; `GET /stock/{sku}`). */
export const StockLevel = Type.Object({
  sku: Sku,
  available: Type.Integer({ minimum: 0 }),
  reserved: Type.Integer({ minimum: 0 }),
})
export type StockLevel = Static<typeof StockLevel>
