import type { TSchema } from '@sinclair/typebox'
import { InventoryRequest, LineResult } from './inventory.ts'
import { OrderCreatedV1 } from './order.ts'
import { OrderFailed, OrderReserved } from './outcome.ts'

/**
 * Every event shop writes, by CloudEvents type and version. The type and version travel in the
 * record's headers (`ce_type`, `ce_dataschemaversion`); readers check them and the payload before use.
 */
export const events = {
  orderCreated: { type: 'shop.order.created', version: 1, schema: OrderCreatedV1, keyField: 'userId' },
  inventoryRequest: { type: 'shop.inventory.request', version: 1, schema: InventoryRequest, keyField: 'sku' },
  lineResult: { type: 'shop.inventory.line-result', version: 1, schema: LineResult, keyField: 'userId' },
  orderReserved: { type: 'shop.inventory.reserved', version: 1, schema: OrderReserved, keyField: 'userId' },
  orderFailed: { type: 'shop.inventory.failed', version: 1, schema: OrderFailed, keyField: 'userId' },
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
}
