import { expect, test } from 'bun:test'
import { events } from '../../schemas/events.ts'
import { decodeEvent, eventRecord, jsonOf } from '../events/envelope.ts'
import type { ConsumedRecord } from '../kafka/types.ts'
import { EventSerde } from './serde.ts'
import type { SchemaRegistryClient } from './types.ts'

/** A registry that hands out ids in order and knows nothing else. */
function registry(): SchemaRegistryClient {
  let next = 40
  return { register: async () => ++next, schemaById: async () => undefined, close: async () => {} }
}

const consumed = (record: { topic: string; key?: string; value: Buffer; headers: Record<string, string> }): ConsumedRecord => ({
  topic: record.topic,
  partition: 0,
  offset: 0n,
  key: record.key,
  value: record.value,
  headers: record.headers,
  timestamp: 0,
  generation: 1,
})

test("an event's value is the magic byte, its schema's id, then its JSON text, multi-byte characters included", async () => {
  const serde = new EventSerde(registry())
  await serde.register([['orders', events.orderCreated]])
  const order = {
    orderId: 'o-1',
    userId: 'üser-€',
    items: [{ sku: 'sku-1', quantity: 2, unitPrice: 1.5 }],
    total: 3,
    currency: 'EUR',
    createdAt: '2026-11-24T12:00:00.000Z',
  }
  const written = eventRecord('orders', events.orderCreated, order, 'shop/test')
  const framed = serde.serialize(written)
  const value = framed.value as Buffer
  // Version 1 registered first (id 41), then version 2 (42), which eventRecord writes.
  expect([...value.subarray(0, 5)]).toEqual([0, 0, 0, 0, 42])
  expect(value.subarray(5).toString('utf8')).toBe(written.value as string)
  expect(jsonOf(value)).toBe(written.value as string)
  const [resolved] = await serde.resolve([consumed({ topic: 'orders', key: written.key, value, headers: framed.headers! })])
  expect(decodeEvent(events.orderCreated, resolved)).toEqual(order)
  // Bytes already in the wire format (a dead letter replayed as it was) pass as they are.
  expect(serde.serialize({ ...written, value }).value).toBe(value)
})
