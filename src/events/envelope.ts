import type { Static, TSchema } from '@sinclair/typebox'
import { randomUUID } from 'node:crypto'
import { InvalidEventError } from '../errors.ts'
import type { ConsumedRecord, Headers, ProduceRecord } from '../kafka/types.ts'
import { compiledSchema } from './check.ts'
import { type EventType, schemaAt } from '../../schemas/events.ts'
import { Value } from '@sinclair/typebox/value'
import { nowIso } from '../time.ts'

/**
 * Set by the log's serde on a record whose value it could not resolve (an unknown schema id, a
 * schema no reader knows): decodeEvent refuses the record with it, so it is dead-lettered.
 */
export const schemaErrorHeader = 'shop.schema.error'

/**
 * A record of `event` for `topic`, keyed by the payload's `keyField`: the key that decodeEvent
 * checks, so a record built here always lands in the partition of the entity it is about.
 */
export function eventRecord<E extends EventType>(topic: string, event: E, payload: Static<E['schema']>, source: string, options: { version?: number } = {}): ProduceRecord {
  return { topic, key: String((payload as Record<string, unknown>)[event.keyField]), ...encodeEvent(event, payload, source, {}, options.version) }
}

/**
 * The common envelope, in the CloudEvents Kafka binding's binary mode: attributes in `ce_*`
 * headers, the payload as JSON in the value (which the log's serde prefixes with the schema's
 * registry id, see src/registry/serde.ts). `version` writes an older version the readers still
 * read (a rolling upgrade); the payload must then be of that version.
 */
export function encodeEvent<E extends EventType>(
  event: E,
  payload: Static<E['schema']>,
  source: string,
  extra: Headers = {},
  version = event.version,
): { value: string; headers: Headers } {
  if (!schemaAt(event, version)) throw new InvalidEventError(`${event.type} has no version ${version}`)
  return {
    value: JSON.stringify(payload),
    headers: {
      ce_specversion: '1.0',
      ce_id: randomUUID(),
      ce_type: event.type,
      ce_source: source,
      ce_time: nowIso(),
      ce_dataschemaversion: String(version),
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
  const schemaError = record.headers[schemaErrorHeader]
  if (schemaError !== undefined) throw new InvalidEventError(`${where}: ${schemaError}`)
  const version = Number(record.headers.ce_dataschemaversion)
  const schema = schemaAt(event, version)
  if (!schema) {
    const known = [event.version, ...Object.keys(event.older ?? {})].join(', ')
    throw new InvalidEventError(`${where}: ${event.type} version ${record.headers.ce_dataschemaversion} is not supported (reads ${known})`)
  }
  if (record.value === null) throw new InvalidEventError(`${where}: a tombstone (null value) where a ${event.type} event was expected`)
  let payload: unknown
  try {
    payload = JSON.parse(jsonOf(record.value))
  } catch {
    throw new InvalidEventError(`${where}: the value is not JSON`)
  }
  const check = compiledSchema(schema)
  if (!check.Check(payload)) {
    const first = check.Errors(payload).First()
    throw new InvalidEventError(`${where}: ${first?.path || '/'} ${first?.message}`)
  }
  const owner = (payload as Record<string, unknown>)[event.keyField]
  if (record.key !== owner) {
    throw new InvalidEventError(`${where}: keyed ${JSON.stringify(record.key ?? null)}, but its ${event.keyField} is ${JSON.stringify(owner)}`)
  }
  // Every reader sees the current version: an older one upgraded, defaults filled.
  const current = (version === event.version ? payload : event.older![version].upgrade(payload as object)) as Record<string, unknown>
  const defaults = defaultsOf(event.schema)
  if (defaults === 'anywhere') return Value.Default(event.schema, current) as Static<E['schema']>
  // The payload was parsed for this call alone (or made by `upgrade`): its missing fields are filled in place.
  for (const [field, value] of defaults) if (current[field] === undefined) current[field] = value
  return current as Static<E['schema']>
}

const schemaDefaults = new WeakMap<TSchema, Array<[string, unknown]> | 'anywhere'>()

/**
 * The defaults `schema` declares, when they are all primitive values of top-level properties (the
 * common case, filled without walking the record: TypeBox's `Value.Default` clones and walks every
 * record, 2% of the memory-bus pipeline's profile, for one currency that is always there);
 * 'anywhere' when some default is nested or not a primitive, for `Value.Default` to fill.
 */
function defaultsOf(schema: TSchema): Array<[string, unknown]> | 'anywhere' {
  let found = schemaDefaults.get(schema)
  if (found === undefined) {
    const properties: Record<string, TSchema> = schema.properties ?? {}
    const top = Object.entries(properties).filter(([, property]) => 'default' in property)
    const declared = JSON.stringify(schema).split('"default":').length - 1
    const primitive = top.every(([, property]) => property.default === null || typeof property.default !== 'object')
    found = declared === top.length && primitive ? top.map(([field, property]): [string, unknown] => [field, property.default]) : 'anywhere'
    schemaDefaults.set(schema, found)
  }
  return found
}

/**
 * The JSON text of an event record's value: after the schema registry's wire-format header (magic
 * byte 0, 4-byte schema id) when it has one, the whole value when it has not (records written
 * before the registry, or by a producer without one).
 */
export function jsonOf(value: Buffer): string {
  return value.length >= 5 && value[0] === 0 ? value.toString('utf8', 5) : value.toString()
}
