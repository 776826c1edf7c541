import { RetryLaterError, ShopError } from '../errors.ts'
import { IncompatibleSchemaError, InvalidSchemaError, type JsonSchema, type SchemaRegistryClient } from './types.ts'

/** How long one call to the registry may take. */
const timeoutMs = 10_000

/**
 * A client of a registry that speaks Confluent Schema Registry's REST API (`--schema-registry-url`):
 * Confluent's own, Karapace, Apicurio's `ccompat/v7`, or shop's registry role at `/registry`.
 */
export class HttpSchemaRegistry implements SchemaRegistryClient {
  readonly #url: string
  readonly #headers: Record<string, string>

  constructor(url: string) {
    const parsed = new URL(url)
    // Credentials in the URL (https://user:secret@host) become Basic authentication, as Confluent's clients take them.
    this.#headers = { accept: 'application/vnd.schemaregistry.v1+json, application/json', 'content-type': 'application/vnd.schemaregistry.v1+json' }
    if (parsed.username) this.#headers.authorization = `Basic ${btoa(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`)}`
    parsed.username = ''
    parsed.password = ''
    this.#url = parsed.toString().replace(/\/$/, '')
  }

  async register(subject: string, schema: JsonSchema): Promise<number> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`
    const answer = await this.#call('POST', path, { schemaType: 'JSON', schema: JSON.stringify(schema) })
    if (answer.status === 200) return (answer.body as { id: number }).id
    if (answer.status === 409) {
      // Confluent answers 409 without the reasons; its compatibility check gives them.
      const check = await this.#call('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`, { schemaType: 'JSON', schema: JSON.stringify(schema) })
      const messages = (check.body as { messages?: string[] } | undefined)?.messages
      throw new IncompatibleSchemaError(subject, messages?.length ? messages : [String((answer.body as { message?: string })?.message ?? 'refused (409)')])
    }
    if (answer.status === 422) throw new InvalidSchemaError(`schema registry refused the schema of ${subject}: ${(answer.body as { message?: string })?.message}`)
    throw this.#failure('POST', path, answer)
  }

  async schemaById(id: number): Promise<JsonSchema | undefined> {
    const path = `/schemas/ids/${id}`
    const answer = await this.#call('GET', path)
    if (answer.status === 404) return undefined
    if (answer.status !== 200) throw this.#failure('GET', path, answer)
    const { schema, schemaType } = answer.body as { schema: string; schemaType?: string }
    if ((schemaType ?? 'AVRO') !== 'JSON') return { 'x-schema-type': schemaType }
    return JSON.parse(schema)
  }

  async close(): Promise<void> {}

  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    let response: Response
    try {
      response = await fetch(`${this.#url}${path}`, { method, headers: this.#headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) })
    } catch (error) {
      throw new RetryLaterError(`schema registry ${this.#url} is not reachable: ${(error as Error).message}`, { cause: error })
    }
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = { message: text.slice(0, 200) }
    }
    return { status: response.status, body: parsed }
  }

  #failure(method: string, path: string, answer: { status: number; body: unknown }): ShopError {
    const message = `schema registry ${this.#url}: ${method} ${path} answered ${answer.status}: ${(answer.body as { message?: string })?.message ?? ''}`
    // 5xx and 429 pass; anything else is a wrong URL or credentials.
    return answer.status >= 500 || answer.status === 429 ? new RetryLaterError(message) : new ShopError(message)
  }
}
