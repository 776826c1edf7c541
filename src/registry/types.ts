import { ConfigError, ShopError } from '../errors.ts'
import type { JsonSchema } from './json-schema.ts'

export { canonicalJson, type JsonSchema } from './json-schema.ts'

/** One version of a subject, as a registry holds it. */
export interface RegisteredSchema {
  subject: string
  version: number
  id: number
  schemaType: string
  /** The schema document, as text. */
  schema: string
}

/** What shop asks of a schema registry: shop's own storage (SchemaStore) or any Confluent-compatible one (HttpSchemaRegistry). */
export interface SchemaRegistryClient {
  /** Registers `schema` under `subject` (or finds it there) and returns its id; IncompatibleSchemaError when the subject refuses it. */
  register(subject: string, schema: JsonSchema): Promise<number>
  /** The schema of `id`; undefined when the registry does not know the id. */
  schemaById(id: number): Promise<JsonSchema | undefined>
  close(): Promise<void>
}

/** A schema the subject's compatibility level refuses. A configuration error: the process must not start with it. */
export class IncompatibleSchemaError extends ConfigError {
  constructor(
    readonly subject: string,
    readonly problems: string[],
  ) {
    super(`schema registry: the new schema of subject ${subject} is incompatible with its registered versions: ${problems.join('; ')}`)
  }
}

/** A schema the registry cannot take (not JSON, not a JSON Schema, a schema type it does not read). */
export class InvalidSchemaError extends ShopError {
  static override readonly code = 'SHOP_BAD_REQUEST'
  override readonly status = 422
}
