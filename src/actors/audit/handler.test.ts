import { expect, test } from 'bun:test'
import { events } from '../../../schemas/events.ts'
import { encodeEvent } from '../../events/envelope.ts'
import { InvalidEventError } from '../../errors.ts'
import type { ConsumedRecord, ProduceRecord } from '../../kafka/types.ts'
import { topicNames } from '../../topology.ts'
import type { StepContext } from '../runtime/transactional/types.ts'
import { auditHandler } from './handler.ts'

const topics = topicNames('p.')
const lines = [{ sku: 'SKU-1', quantity: 2, unitPrice: 4.5 }]

function orderRecord(version: 1 | 2, offset: bigint): ConsumedRecord {
  const payload = { orderId: `o-${offset}`, userId: 'ada', items: lines, total: 9, createdAt: '2026-11-22T10:00:00.000Z', ...(version === 2 ? { currency: 'USD' } : {}) }
  const { value, headers } = encodeEvent(events.orderCreated, payload, 'test', {}, version)
  return { topic: topics.ordersCreated, partition: 1, offset, key: 'ada', value: Buffer.from(value), headers, timestamp: 0, generation: 1 }
}

function handled(record: ConsumedRecord): ProduceRecord {
  const sent: ProduceRecord[] = []
  const ctx: StepContext = { partition: 1, send: (r) => void sent.push(r), get: () => undefined, put: () => {}, deadLetter: () => {}, afterCommit: () => {}, batch: new Map() }
  auditHandler(topics).handle(record, ctx)
  expect(sent).toHaveLength(1)
  return sent[0]
}

test('a fact is exported to its audit topic in the envelope of its own version, key and headers kept', () => {
  const v1 = orderRecord(1, 7n)
  const out = handled(v1)
  expect(out.topic).toBe('p.audit.orders.created')
  expect(out.key).toBe('ada')
  expect(out.headers).toEqual(v1.headers)
  const { schema, payload } = JSON.parse(out.value as string)
  expect(schema).toEqual({
    type: 'struct',
    name: 'shop.order.created.v1',
    version: 1,
    optional: false,
    fields: [
      { field: 'order_id', type: 'string', optional: false },
      { field: 'user_id', type: 'string', optional: false },
      { field: 'items', type: 'string', optional: false, name: 'io.debezium.data.Json' },
      { field: 'total', type: 'double', optional: false },
      { field: 'created_at', type: 'string', optional: false },
      { field: 'origin_topic', type: 'string', optional: false },
      { field: 'origin_partition', type: 'int32', optional: false },
      { field: 'origin_offset', type: 'int64', optional: false },
    ],
  })
  expect(payload).toEqual({ order_id: 'o-7', user_id: 'ada', items: JSON.stringify(lines), total: 9, created_at: '2026-11-22T10:00:00.000Z', origin_topic: 'p.orders.created', origin_partition: 1, origin_offset: 7 })
})

test('version 2 adds its field as an optional column; a status keeps its optional fields as nulls', () => {
  const { schema, payload } = JSON.parse(handled(orderRecord(2, 8n)).value as string)
  expect(schema.name).toBe('shop.order.created.v2')
  expect(schema.fields.find((f: { field: string }) => f.field === 'currency')).toEqual({ field: 'currency', type: 'string', optional: true })
  expect(payload.currency).toBe('USD')

  const status = { orderId: 'o-1', userId: 'ada', status: 'reserved' as const, at: '2026-11-22T10:00:01.000Z' }
  const { value, headers } = encodeEvent(events.orderStatus, status, 'test')
  const out = JSON.parse(handled({ topic: topics.orderStatus, partition: 0, offset: 3n, key: 'ada', value: Buffer.from(value), headers, timestamp: 0, generation: 1 }).value as string)
  expect(out.schema.fields.find((f: { field: string }) => f.field === 'status')).toEqual({ field: 'status', type: 'string', optional: false })
  expect(out.payload).toMatchObject({ order_id: 'o-1', status: 'reserved', order: null, reason: null, tracking_number: null })
})

test('a fact no reader can decode is refused (the runtime dead-letters it), not exported', () => {
  const record = orderRecord(2, 9n)
  record.value = Buffer.from(JSON.stringify({ orderId: 'o-9', userId: 'ada' }))
  const ctx: StepContext = { partition: 1, send: () => { throw new Error('sent') }, get: () => undefined, put: () => {}, deadLetter: () => {}, afterCommit: () => {}, batch: new Map() }
  expect(() => auditHandler(topics).handle(record, ctx)).toThrow(InvalidEventError)
})
