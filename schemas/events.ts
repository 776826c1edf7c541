import type { TSchema } from '@sinclair/typebox'
import { InventoryRequest, LineResult } from './inventory.ts'
import { NotificationRequest } from './notification.ts'
import { OrderCreatedV1, OrderCreatedV2, defaultCurrency } from './order.ts'
import { OrderFailed, OrderReserved } from './outcome.ts'
import { OrderRateWindow, WindowPartial } from './rate.ts'
import {
  CancelRequest,
  OrderPacked,
  OrderShipped,
  OrderStatusChanged,
  PackRequest,
  PaymentFailed,
  PaymentProcessed,
  PaymentRefunded,
  PaymentRequest,
  ShipRequest,
} from './lifecycle.ts'

/**
 * Every event shop writes, by CloudEvents type and version. The type and version travel in the
 * record's headers (`ce_type`, `ce_dataschemaversion`), the schema's registry id in the value's
 * first bytes (src/registry/); readers check them and the payload before use, and read every
 * version still listed (`older`) as the current one.
 */
export const events = {
  orderCreated: {
    type: 'shop.order.created',
    version: 2,
    schema: OrderCreatedV2,
    keyField: 'userId',
    older: { 1: { schema: OrderCreatedV1, upgrade: (v1: object) => ({ ...v1, currency: defaultCurrency }) } },
  },
  inventoryRequest: { type: 'shop.inventory.request', version: 1, schema: InventoryRequest, keyField: 'sku' },
  lineResult: { type: 'shop.inventory.line-result', version: 1, schema: LineResult, keyField: 'userId' },
  orderReserved: { type: 'shop.inventory.reserved', version: 1, schema: OrderReserved, keyField: 'userId' },
  orderFailed: { type: 'shop.inventory.failed', version: 1, schema: OrderFailed, keyField: 'userId' },
  orderStatus: { type: 'shop.order.status', version: 1, schema: OrderStatusChanged, keyField: 'userId' },
  paymentRequest: { type: 'shop.payment.request', version: 1, schema: PaymentRequest, keyField: 'userId' },
  paymentProcessed: { type: 'shop.payment.processed', version: 1, schema: PaymentProcessed, keyField: 'userId' },
  paymentFailed: { type: 'shop.payment.failed', version: 1, schema: PaymentFailed, keyField: 'userId' },
  paymentRefunded: { type: 'shop.payment.refunded', version: 1, schema: PaymentRefunded, keyField: 'userId' },
  packRequest: { type: 'shop.warehouse.request', version: 1, schema: PackRequest, keyField: 'userId' },
  orderPacked: { type: 'shop.order.packed', version: 1, schema: OrderPacked, keyField: 'userId' },
  shipRequest: { type: 'shop.shipping.request', version: 1, schema: ShipRequest, keyField: 'userId' },
  orderShipped: { type: 'shop.order.shipped', version: 1, schema: OrderShipped, keyField: 'userId' },
  cancelRequest: { type: 'shop.order.cancel-request', version: 1, schema: CancelRequest, keyField: 'userId' },
  notificationRequest: { type: 'shop.notification.request', version: 1, schema: NotificationRequest, keyField: 'userId' },
  windowPartial: { type: 'shop.aggregator.partial', version: 1, schema: WindowPartial, keyField: 'windowStart' },
  orderRate: { type: 'shop.metrics.order-rate', version: 1, schema: OrderRateWindow, keyField: 'windowStart' },
} as const satisfies Record<string, EventType>

export interface EventType {
  type: string
  version: number
  schema: TSchema
  /**
   * The payload field the record key must equal: the key decides the partition, and the partition
   * decides which single writer owns the entity, so a record keyed otherwise is refused.
   */
  keyField: string
  /**
   * Earlier versions readers still read (a topic holds records of every version written to it),
   * each with how its payload becomes one of the current version.
   */
  older?: Record<number, { schema: TSchema; upgrade: (payload: object) => object }>
}

/** The schema of `event` at `version`, if readers know it. */
export function schemaAt(event: EventType, version: number): TSchema | undefined {
  return version === event.version ? event.schema : event.older?.[version]?.schema
}
