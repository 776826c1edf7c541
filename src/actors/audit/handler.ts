import { decodeEvent, jsonOf } from '../../events/envelope.ts'
import { type EventType, schemaAt } from '../../../schemas/events.ts'
import { auditedTopics, eventTopics, type TopicNames } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'
import { type ConnectField, type ConnectSchema, connectPayload, connectSchemaOf } from './connect-schema.ts'

/** Where each audited record came from: a row of the audit tables leads back to its record in the log. */
const originFields: ConnectField[] = [
  { field: 'origin_topic', type: 'string', optional: false },
  { field: 'origin_partition', type: 'int32', optional: false },
  { field: 'origin_offset', type: 'int64', optional: false },
]

/**
 * The audit role's step: each fact (see auditedTopics) again on its audit topic, as Kafka
 * Connect's JsonConverter reads it: `{schema, payload}`, the schema being the event's at the
 * version the record was written in. A sink that adds columns (Debezium's JDBC sink with
 * `schema.evolution=basic`) thus gains a new version's field as a column with the first record
 * that has it, the rows before it kept. The key and the headers (the CloudEvents attributes, the
 * trace context) are the fact's own; the event id `ce_id` is the sink's upsert key, so a fact
 * exported twice is one row.
 *
 * Why an audit topic rather than Connect reading the facts themselves: their values are in the
 * schema registry's wire format (a 5-byte schema id before the JSON), which no converter of
 * Apache Kafka or Debezium reads; Confluent's JSON Schema converter does, but it is not published
 * where these machines can fetch it (Maven Central). A fact that no reader could decode is
 * dead-lettered, not exported.
 */
export function auditHandler(topics: TopicNames): StepHandler {
  const auditTopic = new Map(auditedTopics(topics))
  const eventOf = new Map(eventTopics(topics))
  const schemas = new Map<string, ConnectSchema>()
  const schemaOf = (event: EventType, version: number): ConnectSchema => {
    const key = `${event.type} ${version}`
    let schema = schemas.get(key)
    if (!schema) schemas.set(key, (schema = connectSchemaOf(schemaAt(event, version)!, `${event.type}.v${version}`, version, originFields)))
    return schema
  }
  return {
    stores: {},
    handle(record, ctx) {
      const event = eventOf.get(record.topic)!
      decodeEvent(event, record)
      const schema = schemaOf(event, Number(record.headers.ce_dataschemaversion))
      const payload = connectPayload(schema, {
        ...JSON.parse(jsonOf(record.value!)),
        origin_topic: record.topic,
        origin_partition: record.partition,
        origin_offset: Number(record.offset),
      })
      ctx.send({ topic: auditTopic.get(record.topic)!, key: record.key, value: JSON.stringify({ schema, payload }), headers: record.headers })
    },
  }
}
