import type { Static, TSchema } from '@sinclair/typebox'
import { compiledSchema } from '../events/check.ts'
import { ConfigError } from '../errors.ts'

/**
 * Checks `value` against `schema`; throws a ConfigError naming the first offending JSON path
 * (`<root>.http.port: Expected integer`). Every component validates its options through this.
 */
export function validate<S extends TSchema>(schema: S, value: unknown, root: string): Static<S> {
  const check = compiledSchema(schema)
  const first = check.Check(value) ? undefined : check.Errors(value).First()
  if (first) {
    const path = first.path.split('/').filter(Boolean).join('.')
    const choices = (first.schema.anyOf as Array<{ const?: unknown }> | undefined)?.map((s) => s.const)
    const message =
      choices && choices.every((c) => c !== undefined)
        ? `must be one of ${choices.join(', ')}; got ${JSON.stringify(first.value)}`
        : `${first.message}; got ${JSON.stringify(first.value)}`
    throw new ConfigError(message, path ? `${root}.${path}` : root)
  }
  return value as Static<S>
}
