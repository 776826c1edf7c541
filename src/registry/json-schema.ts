import { type EventType, schemaAt } from '../../schemas/events.ts'

/** A JSON Schema document, as registered. */
export type JsonSchema = Record<string, unknown>

/** The subject of a topic's values (Confluent's TopicNameStrategy). */
export const subjectOf = (topic: string) => `${topic}-value`

/**
 * The JSON Schema (draft 7) of `event` at `version`, from its TypeBox definition (which is JSON
 * Schema already; TypeBox's own markers are symbols and do not survive JSON). The title names the
 * event type and version, so that a reader that fetches the schema by id knows what it holds.
 */
export function eventJsonSchema(event: EventType, version = event.version): JsonSchema {
  const schema = schemaAt(event, version)
  if (!schema) throw new Error(`${event.type} has no version ${version}`)
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: eventTitle(event.type, version), ...JSON.parse(JSON.stringify(schema)) }
}

const eventTitle = (type: string, version: number) => `${type} v${version}`

/** The event type and version a schema's title names, if it is one of shop's. */
export function titledEvent(schema: JsonSchema): { type: string; version: number } | undefined {
  const match = typeof schema.title === 'string' ? /^(\S+) v(\d+)$/.exec(schema.title) : null
  return match ? { type: match[1], version: Number(match[2]) } : undefined
}

/** JSON with object keys sorted: two schemas are the same schema when their canonical texts are equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}
