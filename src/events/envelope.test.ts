import { describe, expect, test } from 'bun:test'
import { Type } from '@sinclair/typebox'
import { type EventType, events } from '../../schemas/events.ts'
import { InvalidEventError } from '../errors.ts'
import type { ConsumedRecord } from '../kafka/types.ts'
import { decodeEvent } from './envelope.ts'

/** A record of `payload` as `event` at `version`, keyed by the payload's key field. */
function recordOf(event: EventType, payload: Record<string, unknown>, version = event.version): ConsumedRecord {
  return {
    topic: 't',
    partition: 0,
    offset: 0n,
    key: String(payload[event.keyField]),
    value: Buffer.from(JSON.stringify(payload)),
    headers: { ce_type: event.type, ce_dataschemaversion: String(version) },
    timestamp: 0,
    generation: -1,
  }
}

const order = { orderId: 'o-1', userId: 'ada', items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 9.99 }], total: 19.98, createdAt: '2026-11-22T10:00:00.000Z' }

describe('decodeEvent: every reader sees the current version, defaults filled', () => {
  test('an order of version 2 without a currency gets the default; one with a currency keeps it; version 1 is upgraded', () => {
    expect(decodeEvent(events.orderCreated, recordOf(events.orderCreated, order))).toEqual({ ...order, currency: 'EUR' })
    expect(decodeEvent(events.orderCreated, recordOf(events.orderCreated, { ...order, currency: 'USD' }))).toEqual({ ...order, currency: 'USD' })
    expect(decodeEvent(events.orderCreated, recordOf(events.orderCreated, order, 1))).toEqual({ ...order, currency: 'EUR' })
  })

  test('a nested default is filled too, and a record that breaks the schema is refused before any default', () => {
    const nested: EventType = {
      type: 'shop.test.nested',
      version: 1,
      keyField: 'id',
      schema: Type.Object({ id: Type.String(), box: Type.Object({ size: Type.Optional(Type.Integer({ default: 3 })), tags: Type.Optional(Type.Array(Type.String(), { default: [] })) }) }),
    }
    const first = decodeEvent(nested, recordOf(nested, { id: 'a', box: {} })) as { id: string; box: { size?: number; tags: string[] } }
    expect(first).toEqual({ id: 'a', box: { size: 3, tags: [] } })
    // Each record gets its own default object, not one shared between records.
    first.box.tags.push('x')
    expect(decodeEvent(nested, recordOf(nested, { id: 'b', box: {} }))).toEqual({ id: 'b', box: { size: 3, tags: [] } })
    expect(() => decodeEvent(nested, recordOf(nested, { id: 'c', box: { size: 'big' } }))).toThrow(InvalidEventError)
  })
})
