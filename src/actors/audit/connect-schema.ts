import type { TSchema } from '@sinclair/typebox'

/**
 * A Kafka Connect schema (the `schema` half of JsonConverter's `{schema, payload}` envelope): what
 * lets a sink connector type its columns, and add one when a new event version adds a field.
 * See https://kafka.apache.org/documentation/#connect_schemas
 */
export interface ConnectSchema {
  type: 'struct'
  name: string
  version: number
  optional: false
  fields: ConnectField[]
}
export interface ConnectField {
  field: string
  type: 'string' | 'int32' | 'int64' | 'double' | 'boolean'
  optional: boolean
  /** A logical type: Debezium's JSON text, which its JDBC sink writes to a `json` column. */
  name?: typeof jsonText
}

/** Debezium's logical type of a string holding JSON. */
export const jsonText = 'io.debezium.data.Json'

/**
 * The Connect schema of an event's payload at one version (`schema` is its TypeBox definition,
 * JSON Schema). Scalars keep their type (integer -> int64, number -> double, a union of string
 * literals -> string); objects and arrays (an order's lines) travel as JSON text, since a
 * relational row has no place for a nested list. A field the schema does not require is optional.
 * Fields are named as SQL columns are (`orderId` -> `order_id`), as in the read model's tables.
 */
export function connectSchemaOf(schema: TSchema, name: string, version: number, extra: ConnectField[] = []): ConnectSchema {
  const required = new Set<string>(schema.required ?? [])
  const fields = Object.entries(schema.properties as Record<string, TSchema>).map(([field, property]): ConnectField => {
    const optional = !required.has(field)
    const type = scalarType(property)
    const column = columnName(field)
    return type ? { field: column, type, optional } : { field: column, type: 'string', optional, name: jsonText }
  })
  return { type: 'struct', name, version, optional: false, fields: [...fields, ...extra] }
}

function scalarType(schema: TSchema): ConnectField['type'] | undefined {
  switch (schema.type) {
    case 'string':
      return 'string'
    case 'integer':
      return 'int64'
    case 'number':
      return 'double'
    case 'boolean':
      return 'boolean'
  }
  const choices: TSchema[] | undefined = schema.anyOf
  return choices?.every((choice) => typeof choice.const === 'string') ? 'string' : undefined
}

/** A payload field's column: snake case. */
export const columnName = (field: string) => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)

/** `payload` as the schema's struct: columns named, JSON-text fields stringified, absent optional fields null. */
export function connectPayload(schema: ConnectSchema, payload: Record<string, unknown>): Record<string, unknown> {
  const byColumn = new Map(Object.entries(payload).map(([field, value]) => [columnName(field), value]))
  const row: Record<string, unknown> = {}
  for (const { field, name } of schema.fields) {
    const value = byColumn.get(field)
    row[field] = value === undefined ? null : name === jsonText ? JSON.stringify(value) : value
  }
  return row
}
