import type { TSchema } from '@sinclair/typebox'
import { InventoryRequest, LineResult } from './inventory.ts'
import { OrderCreatedV1 } from './order.ts'
import { OrderFailed, OrderReserved } from './outcome.ts'

/**
 * Every event shop writes, by CloudEvents type and version. The type and version travel in the
 * record's headers (`ce_type`, `ce_dataschemaversion`); readers check them and the payload before use.
 */
export const events = {
  orderCreated: { type: 'shop.order.created', version: 1, schema: OrderCreatedV1 },
  inventoryRequest: { type: 'shop.inventory.request', version: 1, schema: InventoryRequest },
  lineResult: { type: 'shop.inventory.line-result', version: 1, schema: LineResult },
  orderReserved: { type: 'shop.inventory.reserved', version: 1, schema: OrderReserved },
  orderFailed: { type: 'shop.inventory.failed', version: 1, schema: OrderFailed },
} as const satisfies Record<string, EventType>

export interface EventType {
  type: string
  version: number
  schema: TSchema
}
