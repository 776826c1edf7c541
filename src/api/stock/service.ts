import { eventRecord } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { InventoryRequest, StockLevel } from '../../../schemas/inventory.ts'
import type { LogProducer } from '../../kafka/port.ts'
import type { TopicNames } from '../../topology.ts'

/**
 * Sets a SKU's available level. The level is not written here: it travels as a request on
 * `inventory.requests`, so that the InventoryActor owning the SKU stays its single writer.
 */
export async function requestStockLevel(producer: LogProducer, topics: TopicNames, sku: string, quantity: number, source: string): Promise<void> {
  const request: InventoryRequest = { type: 'set', sku, quantity }
  await producer.send([eventRecord(topics.inventoryRequests, events.inventoryRequest, request, source)])
}

/** The stock changelog value of a record, or undefined when it is not one. */
export function stockLevelOf(value: Buffer | null): StockLevel | undefined {
  if (value === null) return undefined
  try {
    const level = JSON.parse(value.toString()) as StockLevel
    return typeof level.available === 'number' ? level : undefined
  } catch {
    return undefined
  }
}
