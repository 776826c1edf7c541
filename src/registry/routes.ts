import { Type } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import type { AdminCheck } from '../api/admin.ts'
import { readJson } from '../api/body.ts'
import { ShopError } from '../errors.ts'
import { type CompatibilityLevel, compatibilityLevels } from './compatibility.ts'
import type { SchemaStore } from './store.ts'
import { IncompatibleSchemaError, InvalidSchemaError, type JsonSchema, type RegisteredSchema } from './types.ts'

/** The media types Confluent's clients send and accept. */
const contentTypes = ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json', 'application/octet-stream']
const mediaType = 'application/vnd.schemaregistry.v1+json'

const SchemaRequest = Type.Object({
  schema: Type.String({ minLength: 1 }),
  schemaType: Type.Optional(Type.String()),
  references: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0 })),
  metadata: Type.Optional(Type.Unknown()),
  ruleSet: Type.Optional(Type.Unknown()),
})
const ConfigRequest = Type.Object({ compatibility: Type.Union(compatibilityLevels.map((l) => Type.Literal(l))) })

/** An error with Confluent's error code (what its clients branch on), as a JSON body that is also an RFC 9457 problem. */
class RegistryError extends ShopError {
  constructor(
    override readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message)
  }
}
const notFound = {
  subject: (s: string) => new RegistryError(404, 40401, `Subject '${s}' not found.`),
  version: (v: string) => new RegistryError(404, 40402, `Version ${v} not found.`),
  schema: (what: string) => new RegistryError(404, 40403, `Schema ${what} not found.`),
}

/**
 * Confluent Schema Registry's REST API over shop's registry storage (the `_schemas` topic), at
 * `/registry` (so that `--schema-registry-url=http://host:port/registry`): subjects and their
 * versions, schemas by id, registration with compatibility checks, lookups, compatibility tests
 * and levels. JSON Schema only; no schema references. Errors carry Confluent's `error_code`.
 * Changing a compatibility level is for staff (the admin token): a level of NONE would let any
 * writer break every reader. Registering stays open to every writer, as BACKWARD checks it.
 */
export function registryRoutes(store: SchemaStore, ready: () => void, admin: AdminCheck) {
  const answer = async (run: () => Promise<unknown>): Promise<Response> => {
    try {
      ready()
      return Response.json(await run(), { headers: { 'content-type': mediaType } })
    } catch (error) {
      const [status, code] =
        error instanceof RegistryError ? [error.status, error.errorCode]
        : error instanceof IncompatibleSchemaError ? [409, 409]
        : error instanceof InvalidSchemaError ? [422, 42201]
        : error instanceof ShopError && error.status < 500 ? [error.status, error.status * 100 + 1]
        : [500, 50001]
      const message = error instanceof Error ? error.message : String(error)
      const body = { error_code: code, message, type: 'about:blank', title: 'Schema registry error', status, detail: message }
      return Response.json(body, { status, headers: { 'content-type': mediaType } })
    }
  }
  const subjectVersions = async (subject: string) => {
    const versions = await store.versions(subject)
    if (!versions) throw notFound.subject(subject)
    return versions
  }
  const versionOf = async (subject: string, version: string): Promise<RegisteredSchema> => {
    const versions = await subjectVersions(subject)
    if (version === 'latest' || version === '-1') return versions.at(-1)!
    if (!/^[1-9]\d{0,9}$/.test(version)) throw new RegistryError(422, 42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`)
    const found = versions.find((s) => s.version === Number(version))
    if (!found) throw notFound.version(version)
    return found
  }
  const schemaOf = async (request: Request): Promise<{ schema: JsonSchema; schemaType: string }> => {
    const body = await readJson(request, SchemaRequest, contentTypes)
    const schemaType = body.schemaType ?? 'AVRO'
    if (schemaType !== 'JSON') throw new InvalidSchemaError(`schema type ${schemaType} is not supported: this registry holds JSON Schema only`)
    let schema: unknown
    try {
      schema = JSON.parse(body.schema)
    } catch (error) {
      throw new InvalidSchemaError(`Invalid schema: not JSON (${(error as Error).message})`)
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new InvalidSchemaError('Invalid schema: a JSON Schema is a JSON object')
    return { schema: schema as JsonSchema, schemaType }
  }
  const full = (s: RegisteredSchema) => ({ subject: s.subject, version: s.version, id: s.id, schemaType: s.schemaType, schema: s.schema })
  const id = (text: string) => {
    if (!/^\d{1,10}$/.test(text)) throw notFound.schema(text)
    return Number(text)
  }
  const subject = (params: { subject: string }) => decodeURIComponent(params.subject)
  const noParse = { parse: 'none' as const }

  return new Elysia({ name: 'shop:registry', prefix: '/registry' })
    .get('/', () => answer(async () => ({})))
    .get('/schemas/types', () => answer(async () => ['JSON']))
    .get('/subjects', () => answer(() => store.subjects()))
    .get('/subjects/:subject/versions', ({ params }) => answer(async () => (await subjectVersions(subject(params))).map((s) => s.version)))
    .get('/subjects/:subject/versions/:version', ({ params }) => answer(async () => full(await versionOf(subject(params), params.version))))
    .get('/subjects/:subject/versions/:version/schema', ({ params }) => answer(async () => JSON.parse((await versionOf(subject(params), params.version)).schema)))
    .post('/subjects/:subject/versions', ({ params, request }) => answer(async () => ({ id: await store.register(subject(params), (await schemaOf(request)).schema) })), noParse)
    .post(
      '/subjects/:subject',
      ({ params, request }) =>
        answer(async () => {
          const { schema } = await schemaOf(request)
          await subjectVersions(subject(params))
          const found = await store.lookup(subject(params), schema)
          if (!found) throw notFound.schema('under this subject')
          return full(found)
        }),
      noParse,
    )
    .get('/schemas/ids/:id', ({ params }) =>
      answer(async () => {
        const found = await store.byId(id(params.id))
        if (!found) throw notFound.schema(params.id)
        return { schemaType: found.schemaType, schema: found.schema }
      }),
    )
    .get('/schemas/ids/:id/schema', ({ params }) =>
      answer(async () => {
        const found = await store.byId(id(params.id))
        if (!found) throw notFound.schema(params.id)
        return JSON.parse(found.schema)
      }),
    )
    .get('/schemas/ids/:id/versions', ({ params }) =>
      answer(async () => {
        const wanted = id(params.id)
        const all = await Promise.all((await store.subjects()).map(async (s) => (await store.versions(s)) ?? []))
        const holding = all.flat().filter((s) => s.id === wanted)
        if (holding.length === 0) throw notFound.schema(params.id)
        return holding.map((s) => ({ subject: s.subject, version: s.version }))
      }),
    )
    .post(
      '/compatibility/subjects/:subject/versions/:version',
      ({ params, request, query }) =>
        answer(async () => {
          const { schema } = await schemaOf(request)
          const name = subject(params)
          const versions = (await store.versions(name)) ?? []
          // Against the named version (latest: the subject's level decides how many).
          const base = versions.length === 0 ? [] : params.version === 'latest' ? versions : [await versionOf(name, params.version)]
          const problems = base.length === 0 ? [] : await store.problems(name, schema, base)
          return { is_compatible: problems.length === 0, ...(query.verbose === 'true' ? { messages: problems } : {}) }
        }),
      noParse,
    )
    .get('/config', () => answer(async () => ({ compatibilityLevel: await store.compatibility() })))
    .put('/config', ({ request }) => answer(async () => (admin(request), setLevel(request))), noParse)
    .get('/config/:subject', ({ params }) => answer(async () => ({ compatibilityLevel: await store.compatibility(subject(params)) })))
    .put('/config/:subject', ({ params, request }) => answer(async () => (admin(request), setLevel(request, subject(params)))), noParse)

  async function setLevel(request: Request, name?: string) {
    const { compatibility } = await readJson(request, ConfigRequest, contentTypes)
    await store.setCompatibility(compatibility as CompatibilityLevel, name)
    return { compatibility }
  }
}
