import type { EventType } from '../../schemas/events.ts'
import { schemaErrorHeader } from '../events/envelope.ts'
import type { GroupConsumer, Log, Transaction, TransactionalProducer } from '../kafka/port.ts'
import type { ConsumedRecord, ProduceRecord } from '../kafka/types.ts'
import { eventJsonSchema, subjectOf, titledEvent } from './json-schema.ts'
import type { SchemaRegistryClient } from './types.ts'

/** Confluent's wire format: magic byte 0, the schema id (4 bytes, big-endian), then the payload. */
const magic = 0
const headerBytes = 5

/** What a schema id stands for: an event version readers know, or why it cannot be read. */
type Verdict = { type: string; version: number } | { error: string }

/**
 * The registry side of event encoding. At start it registers the schema of every version of
 * every event it may write, under its topic's subject (BACKWARD compatibility, checked by the
 * registry, refuses an incompatible change before anything is written). Then every event record
 * produced is prefixed with its schema's id, and every record consumed that carries an id has it
 * resolved (fetched once when unknown): its `ce_dataschemaversion` becomes the version the schema
 * names, or `shop.schema.error` says why the record cannot be read, for decodeEvent to refuse.
 */
export class EventSerde {
  /** `topic \n type \n version` -> schema id. */
  readonly #ids = new Map<string, number>()
  readonly #verdicts = new Map<number, Verdict>()

  constructor(readonly client: SchemaRegistryClient) {}

  /** Registers every version of every event of `table` (older versions first, in the order they were introduced). */
  async register(table: Array<[topic: string, event: EventType]>): Promise<void> {
    for (const [topic, event] of table) {
      const versions = [...Object.keys(event.older ?? {}).map(Number), event.version].sort((a, b) => a - b)
      for (const version of versions) {
        const id = await this.client.register(subjectOf(topic), eventJsonSchema(event, version))
        this.#ids.set(idKey(topic, event.type, version), id)
        this.#verdicts.set(id, { type: event.type, version })
      }
    }
  }

  /** `record` with its value in the wire format, when it is an event of a registered topic. */
  serialize(record: ProduceRecord): ProduceRecord {
    const type = record.headers?.ce_type
    if (type === undefined || record.value === null) return record
    const id = this.#ids.get(idKey(record.topic, type, Number(record.headers!.ce_dataschemaversion)))
    if (id === undefined) return record
    const payload = record.value
    if (typeof payload === 'string') {
      // The JSON text written once, after the header, into the one buffer of the value.
      const value = framed(id, Buffer.byteLength(payload))
      value.write(payload, headerBytes)
      return { ...record, value }
    }
    // Already in the wire format (a dead letter replayed with its bytes as they were): JSON never starts with byte 0.
    if (payload.length >= headerBytes && payload[0] === magic) return record
    const value = framed(id, payload.length)
    value.set(payload, headerBytes)
    return { ...record, value }
  }

  /** Resolves the schema ids of `records` (see the class); records without one are left as they are. */
  async resolve(records: ConsumedRecord[]): Promise<ConsumedRecord[]> {
    for (const record of records) {
      const value = record.value
      if (value === null || value.length < headerBytes || value[0] !== magic) continue
      const id = value.readUInt32BE(1)
      const verdict = this.#verdicts.get(id) ?? (await this.#fetch(id))
      if ('error' in verdict) record.headers = { ...record.headers, [schemaErrorHeader]: verdict.error }
      else if (record.headers.ce_type !== verdict.type) record.headers = { ...record.headers, [schemaErrorHeader]: `schema id ${id} is of ${verdict.type}, but the record's ce_type is ${JSON.stringify(record.headers.ce_type)}` }
      else if (record.headers.ce_dataschemaversion !== String(verdict.version)) record.headers = { ...record.headers, ce_dataschemaversion: String(verdict.version) }
    }
    return records
  }

  /** What the registry says of an id shop did not register itself; asked once per id. */
  async #fetch(id: number): Promise<Verdict> {
    const schema = await this.client.schemaById(id)
    const titled = schema ? titledEvent(schema) : undefined
    const verdict: Verdict = !schema
      ? { error: `schema id ${id} is unknown to the schema registry` }
      : titled
        ? titled
        : { error: `schema id ${id} is not a schema of a shop event (its title does not name one)` }
    this.#verdicts.set(id, verdict)
    return verdict
  }
}

const idKey = (topic: string, type: string, version: number) => `${topic}\n${type}\n${version}`

/** A value of `length` payload bytes after the wire-format header of schema `id`; the payload is the caller's to write. */
function framed(id: number, length: number): Buffer {
  const value = Buffer.allocUnsafe(headerBytes + length)
  value[0] = magic
  value.writeUInt32BE(id, 1)
  return value
}

/**
 * `log` with `serde` between it and its users: records produced are serialized, records consumed
 * (by a group or a read) resolved. Everything else is the log itself.
 */
export function serdeLog(log: Log, serde: EventSerde): Log {
  const unwrapped = new WeakMap<GroupConsumer, GroupConsumer>()
  const transaction = (inner: Transaction): Transaction => ({
    send: (records) => inner.send(records.map((r) => serde.serialize(r))),
    sendOffsets: (consumer, records) => inner.sendOffsets(unwrapped.get(consumer) ?? consumer, records),
    commit: () => inner.commit(),
    abort: () => inner.abort(),
  })
  return {
    kind: log.kind,
    admin: log.admin,
    producer(options) {
      const inner = log.producer(options)
      return { send: (records) => inner.send(records.map((r) => serde.serialize(r))), close: () => inner.close() }
    },
    transactionalProducer(options): TransactionalProducer {
      const inner = log.transactionalProducer(options)
      return {
        transactionalId: inner.transactionalId,
        init: () => inner.init(),
        begin: async () => transaction(await inner.begin()),
        close: () => inner.close(),
      }
    },
    consumer(options) {
      const inner = log.consumer(options)
      const outer: GroupConsumer = {
        groupId: inner.groupId,
        start: (listener) =>
          inner.start({
            onAssigned: (partitions, generation) => listener.onAssigned(partitions, generation),
            onRevoked: (partitions) => listener.onRevoked(partitions),
            onRecords: async (records) => listener.onRecords(await serde.resolve(records)),
            onError: listener.onError && ((error) => listener.onError!(error)),
          }),
        assignment: () => inner.assignment(),
        committed: (partitions) => inner.committed(partitions),
        commit: (records) => inner.commit(records),
        close: () => inner.close(),
      }
      unwrapped.set(outer, inner)
      return outer
    },
    async read(from, options) {
      const results = await log.read(from, options)
      for (const result of results) await serde.resolve(result.records)
      return results
    },
    close: () => log.close(),
  }
}
