import { FencedError, ShopError } from '../errors.ts'
import type { Log, TransactionalProducer } from '../kafka/port.ts'
import { readToEnd } from '../kafka/read-to-end.ts'
import type { ConsumedRecord, ProduceRecord, RecordPosition } from '../kafka/types.ts'
import type { Logger } from '../log.ts'
import { backoffDelay, sleep } from '../time.ts'
import { type CompatibilityLevel, compatibilityProblems } from './compatibility.ts'
import { IncompatibleSchemaError, type JsonSchema, InvalidSchemaError, type RegisteredSchema, type SchemaRegistryClient, canonicalJson } from './types.ts'

export interface SchemaStoreOptions {
  log: Log
  logger: Logger
  /** The compacted, single-partition `_schemas` topic. */
  topic: string
  /** The transactional id every writer shares: holding its latest epoch is holding the write lock. */
  writerId: string
}

/** Attempts of one write that was fenced by a concurrent writer. */
const writeAttempts = 8

/**
 * A schema registry's state, kept in the `_schemas` topic as Confluent Schema Registry keeps it:
 * one compacted partition, key `{"keytype":"SCHEMA","subject","version","magic":1}` with the
 * schema as value, and `{"keytype":"CONFIG","subject"}` keys for compatibility levels. Any number
 * of processes read it; each answer first reads the topic to its end, so what one process
 * registered every process knows. Writers take turns: all share one transactional id, so a
 * writer's `init` fences the one before it, and a write reads the topic to its end after taking
 * the id (everything committed before is there) and commits, or is fenced and starts again. Ids
 * and versions are therefore assigned by one writer at a time, without a leader to elect.
 */
export class SchemaStore implements SchemaRegistryClient {
  readonly #subjects = new Map<string, RegisteredSchema[]>()
  readonly #byId = new Map<number, RegisteredSchema>()
  readonly #config = new Map<string, CompatibilityLevel>()
  #next = 0n
  #reading: Promise<void> | undefined
  #writer: TransactionalProducer | undefined

  constructor(private readonly options: SchemaStoreOptions) {}

  /**
   * Reads the topic to its end, and on to `atLeast` (one read at a time; callers share it). A
   * writer passes the offset after the record it has just committed, which the end offset may not
   * show yet.
   */
  async catchUp(atLeast = 0n): Promise<void> {
    do {
      this.#reading ??= this.#readToEnd(atLeast).finally(() => (this.#reading = undefined))
      await this.#reading
    } while (this.#next < atLeast)
  }

  async #readToEnd(atLeast: bigint): Promise<void> {
    const { log, topic } = this.options
    this.#next = await readToEnd(log, { topic, partition: 0 }, this.#next, (records) => records.forEach((r) => this.#apply(r)), atLeast)
  }

  #apply(record: ConsumedRecord): void {
    if (!record.key) return
    let key: { keytype?: string; subject?: string | null; version?: number }
    try {
      key = JSON.parse(record.key)
    } catch {
      return
    }
    const value = record.value === null ? null : JSON.parse(record.value.toString())
    if (key.keytype === 'CONFIG') {
      const scope = key.subject ?? ''
      if (value?.compatibilityLevel) this.#config.set(scope, value.compatibilityLevel)
      else this.#config.delete(scope)
      return
    }
    if (key.keytype !== 'SCHEMA' || typeof key.subject !== 'string') return
    const versions = (this.#subjects.get(key.subject) ?? []).filter((s) => s.version !== key.version)
    if (value && !value.deleted) {
      const registered: RegisteredSchema = { subject: value.subject, version: value.version, id: value.id, schemaType: value.schemaType ?? 'AVRO', schema: value.schema }
      versions.push(registered)
      this.#byId.set(registered.id, registered)
    }
    versions.sort((a, b) => a.version - b.version)
    if (versions.length > 0) this.#subjects.set(key.subject, versions)
    else this.#subjects.delete(key.subject)
  }

  async subjects(): Promise<string[]> {
    await this.catchUp()
    return [...this.#subjects.keys()].sort()
  }

  async versions(subject: string): Promise<RegisteredSchema[] | undefined> {
    await this.catchUp()
    return this.#subjects.get(subject)
  }

  async byId(id: number): Promise<RegisteredSchema | undefined> {
    await this.catchUp()
    return this.#byId.get(id)
  }

  async schemaById(id: number): Promise<JsonSchema | undefined> {
    const found = await this.byId(id)
    return found ? JSON.parse(found.schema) : undefined
  }

  /** The version of `subject` holding `schema` (the same schema, keys in any order). */
  async lookup(subject: string, schema: JsonSchema): Promise<RegisteredSchema | undefined> {
    await this.catchUp()
    return this.#find(subject, canonicalJson(schema))
  }

  #find(subject: string, canonical: string): RegisteredSchema | undefined {
    return this.#subjects.get(subject)?.find((s) => canonicalJson(JSON.parse(s.schema)) === canonical)
  }

  async compatibility(subject?: string): Promise<CompatibilityLevel> {
    await this.catchUp()
    return (subject === undefined ? undefined : this.#config.get(subject)) ?? this.#config.get('') ?? 'BACKWARD'
  }

  /** Whether `schema` could be registered under `subject` now (or after `against`): the problems, empty when it could. */
  async problems(subject: string, schema: JsonSchema, against?: RegisteredSchema[]): Promise<string[]> {
    await this.catchUp()
    const previous = (against ?? this.#subjects.get(subject) ?? []).map((s) => JSON.parse(s.schema) as JsonSchema)
    return compatibilityProblems(await this.compatibility(subject), schema, previous)
  }

  /**
   * Registers `schema` under `subject` and returns its id: the id it has if the subject holds it
   * already, the id of the same schema under another subject, or a new one. IncompatibleSchemaError
   * when the subject's compatibility level refuses it.
   */
  async register(subject: string, schema: JsonSchema, schemaType = 'JSON'): Promise<number> {
    if (schemaType !== 'JSON') throw new InvalidSchemaError(`schema type ${schemaType} is not supported by this registry (JSON only)`)
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new InvalidSchemaError('a JSON Schema is a JSON object')
    const canonical = canonicalJson(schema)
    const known = await this.lookup(subject, schema)
    if (known) return known.id
    return this.#write(async () => {
      const again = this.#find(subject, canonical)
      if (again) return { result: again.id, records: [] }
      const problems = await this.problems(subject, schema)
      if (problems.length > 0) throw new IncompatibleSchemaError(subject, problems)
      const same = [...this.#byId.values()].find((s) => canonicalJson(JSON.parse(s.schema)) === canonical)
      const id = same?.id ?? Math.max(0, ...this.#byId.keys()) + 1
      const version = (this.#subjects.get(subject)?.at(-1)?.version ?? 0) + 1
      const value = { subject, version, id, schemaType: 'JSON', schema: JSON.stringify(schema), deleted: false }
      return { result: id, records: [{ topic: this.options.topic, partition: 0, key: JSON.stringify({ keytype: 'SCHEMA', subject, version, magic: 1 }), value: JSON.stringify(value) }] }
    })
  }

  /** Sets the compatibility level of `subject`, or the default one. */
  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    const key = JSON.stringify({ keytype: 'CONFIG', subject: subject ?? null, magic: 0 })
    await this.#write(async () => ({ result: undefined, records: [{ topic: this.options.topic, partition: 0, key, value: JSON.stringify({ compatibilityLevel: level }) }] }))
  }

  /**
   * Runs `decide` as the only writer, on the topic read to its end, and commits its records; starts
   * again when a concurrent writer fenced this one.
   */
  async #write<T>(decide: () => Promise<{ result: T; records: ProduceRecord[] }>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // What another writer did meanwhile may leave nothing to write (every process registers the
      // same schemas at start): only then take the id, which fences whoever holds it.
      await this.catchUp()
      const before = await decide()
      if (before.records.length === 0) return before.result
      const writer = (this.#writer ??= this.options.log.transactionalProducer({ transactionalId: this.options.writerId }))
      try {
        await writer.init()
        await this.catchUp()
        const { result, records } = await decide()
        if (records.length === 0) return result
        const transaction = await writer.begin()
        let committed: RecordPosition[]
        try {
          await transaction.send(records)
          committed = await transaction.commit()
        } catch (error) {
          await transaction.abort().catch(() => {})
          throw error
        }
        // Read back what was written, so that this process's next answer (and write) knows it.
        await this.catchUp(committed.at(-1)!.offset + 1n)
        return result
      } catch (error) {
        const retry = error instanceof FencedError || (error instanceof ShopError && error.retryable)
        if (!retry || attempt >= writeAttempts) throw error
        this.options.logger.debug({ event: 'registry:write:retry', attempt, err: error })
        // A fenced producer is done: the next attempt takes the id again with a new one.
        await writer.close().catch(() => {})
        this.#writer = undefined
        await sleep(backoffDelay({ minMs: 20, maxMs: 1_000, factor: 2 }, attempt) * (0.5 + Math.random()))
      }
    }
  }

  async close(): Promise<void> {
    await this.#writer?.close().catch(() => {})
    this.#writer = undefined
  }
}
