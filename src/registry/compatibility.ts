import type { JsonSchema } from './json-schema.ts'

/** The compatibility levels a subject may have (Confluent's names). */
export const compatibilityLevels = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const
export type CompatibilityLevel = (typeof compatibilityLevels)[number]

/**
 * Why `next` cannot be registered after `previous` (the versions before it, oldest first) at
 * `level`; empty when it can. BACKWARD: a reader of `next` reads data written with the latest
 * version; FORWARD: a reader of the latest reads data written with `next`; FULL: both; the
 * TRANSITIVE forms hold against every earlier version.
 */
export function compatibilityProblems(level: CompatibilityLevel, next: JsonSchema, previous: JsonSchema[]): string[] {
  if (level === 'NONE' || previous.length === 0) return []
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1)
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL')
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL')
  return against.flatMap((old) => [...(backward ? readProblems(next, old, '') : []), ...(forward ? readProblems(old, next, '') : [])])
}

type Schema = Record<string, unknown>
const types = (s: Schema): string[] => (s.type === undefined ? [] : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string])
const at = (path: string) => path || '/'

/**
 * What keeps data valid under `writer` from being valid under `reader`, by path: the rules of
 * the JSON Schema subset shop's event schemas use (types, object properties and their content
 * model, required fields with defaults, arrays, bounds, patterns, enums and constants, unions).
 */
function readProblems(reader: Schema, writer: Schema, path: string): string[] {
  const problems: string[] = []
  if (reader.anyOf || writer.anyOf) {
    // Every branch the writer may write must be read by some branch of the reader.
    const readers = (reader.anyOf as Schema[] | undefined) ?? [reader]
    for (const [i, branch] of ((writer.anyOf as Schema[] | undefined) ?? [writer]).entries()) {
      if (!readers.some((r) => readProblems(r, branch, path).length === 0)) problems.push(`${at(path)}: the reader reads no form of the writer's ${writer.anyOf ? `anyOf[${i}]` : 'schema'}`)
    }
    return problems
  }
  const readerTypes = types(reader)
  const lost = types(writer).filter((t) => readerTypes.length > 0 && !readerTypes.includes(t) && !(t === 'integer' && readerTypes.includes('number')))
  if (lost.length > 0) problems.push(`${at(path)}: type ${lost.join(', ')} is no longer accepted (now ${readerTypes.join(', ')})`)
  if ('const' in reader && JSON.stringify(reader.const) !== JSON.stringify(writer.const)) problems.push(`${at(path)}: the constant changed to ${JSON.stringify(reader.const)}`)
  if (Array.isArray(reader.enum)) {
    const missing = ((writer.enum as unknown[] | undefined) ?? ('const' in writer ? [writer.const] : [undefined])).filter((v) => !(reader.enum as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify(v)))
    if (missing.length > 0) problems.push(`${at(path)}: values ${missing.map((v) => JSON.stringify(v) ?? 'any').join(', ')} are no longer accepted`)
  }
  for (const [key, tighter] of [['minimum', (r: number, w?: number) => w === undefined || r > w], ['minLength', (r: number, w?: number) => w === undefined || r > w], ['minItems', (r: number, w?: number) => w === undefined || r > w], ['maximum', (r: number, w?: number) => w === undefined || r < w], ['maxLength', (r: number, w?: number) => w === undefined || r < w], ['maxItems', (r: number, w?: number) => w === undefined || r < w]] as const) {
    if (typeof reader[key] === 'number' && tighter(reader[key] as number, writer[key] as number | undefined)) problems.push(`${at(path)}: ${key} tightened to ${reader[key]}`)
  }
  if (typeof reader.pattern === 'string' && reader.pattern !== writer.pattern) problems.push(`${at(path)}: pattern changed to ${reader.pattern}`)
  if (reader.items && writer.items) problems.push(...readProblems(reader.items as Schema, writer.items as Schema, `${path}/items`))
  if (reader.type === 'object' || reader.properties) problems.push(...objectProblems(reader, writer, path))
  return problems
}

function objectProblems(reader: Schema, writer: Schema, path: string): string[] {
  const problems: string[] = []
  const readerProps = (reader.properties ?? {}) as Record<string, Schema>
  const writerProps = (writer.properties ?? {}) as Record<string, Schema>
  const writerRequired = new Set((writer.required as string[] | undefined) ?? [])
  for (const name of (reader.required as string[] | undefined) ?? []) {
    if (!writerRequired.has(name) && !('default' in (readerProps[name] ?? {}))) problems.push(`${path}/${name}: required property added without a default`)
  }
  for (const [name, schema] of Object.entries(writerProps)) {
    const readerSchema = readerProps[name]
    if (readerSchema) problems.push(...readProblems(readerSchema, schema, `${path}/${name}`))
    // A closed reader refuses a property it does not declare.
    else if (reader.additionalProperties === false) problems.push(`${path}/${name}: property removed (${writerRequired.has(name) ? 'required' : 'optional'}) while additional properties are not allowed`)
  }
  // A closed writer never wrote other properties; an open one may have written anything.
  if (writer.additionalProperties !== false && reader.additionalProperties === false) problems.push(`${at(path)}: additional properties are no longer allowed`)
  return problems
}
