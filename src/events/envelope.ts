import type { Static } from '@sinclair/typebox'
import { randomUUID } from 'node:crypto'
import { InvalidEventError } from '../errors.ts'
import type { ConsumedRecord, Headers, ProduceRecord } from '../kafka/types.ts'
import { compiledSchema } from './check.ts'
import type { EventType } from '../../schemas/events.ts'

/**
 * A record of `event` for `topic`, keyed by the payload's `keyField`: the key that decodeEvent
 * checks, so a record built here always lands in the partition of the entity it is about.
 */
export function eventRecord<E extends EventType>(topic: string, event: E, payload: Static<E['schema']>, source: string): ProduceRecord {
  return { topic, key: String((payload as Record<string, unknown>)[event.keyField]), ...encodeEvent(event, payload, source) }
}

/**
 * The common envelope, in the CloudEvents Kafka binding's binary mode: attributes in `ce_*`
 * headers, the payload as JSON in the value.
 */
export function encodeEvent<E extends EventType>(
  event: E,
  payload: Static<E['schema']>,
  source: string,
  extra: Headers = {},
): { value: string; headers: Headers } {
  return {
    value: JSON.stringify(payload),
    headers: {
      ce_specversion: '1.0',
      ce_id: randomUUID(),
      ce_type: event.type,
      ce_source: source,
      ce_time: new Date().toISOString(),
      ce_dataschemaversion: String(event.version),
      'content-type': 'application/json',
      ...extra,
    },
  }
}

/**
 * The payload of `record`, checked against the event's type, version and schema, and its key
 * against the payload's `keyField`; InvalidEventError otherwise.
 */
export function decodeEvent<E extends EventType>(event: E, record: ConsumedRecord): Static<E['schema']> {
  const where = `${record.topic}:${record.partition}@${record.offset}`
  if (record.headers.ce_type !== event.type) {
    throw new InvalidEventError(`${where}: expected a ${event.type} event, got ce_type ${JSON.stringify(record.headers.ce_type)}`)
  }
  if (record.headers.ce_dataschemaversion !== String(event.version)) {
    throw new InvalidEventError(`${where}: ${event.type} version ${record.headers.ce_dataschemaversion} is not supported (reads ${event.version})`)
  }
  if (record.value === null) throw new InvalidEventError(`${where}: a tombstone (null value) where a ${event.type} event was expected`)
  let payload: unknown
  try {
    payload = JSON.parse(record.value.toString())
  } catch {
    throw new InvalidEventError(`${where}: the value is not JSON`)
  }
  const check = compiledSchema(event.schema)
  if (!check.Check(payload)) {
    const first = check.Errors(payload).First()
    throw new InvalidEventError(`${where}: ${first?.path || '/'} ${first?.message}`)
  }
  const owner = (payload as Record<string, unknown>)[event.keyField]
  if (record.key !== owner) {
    throw new InvalidEventError(`${where}: keyed ${JSON.stringify(record.key ?? null)}, but its ${event.keyField} is ${JSON.stringify(owner)}`)
  }
  return payload as Static<E['schema']>
}
