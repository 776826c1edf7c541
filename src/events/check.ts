import type { TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()

/**
 * `schema` compiled once by TypeBox's TypeCompiler. Every validation goes through this: `Check` is
 * a generated function (cheap enough for every record and request); `Errors` walks the value and
 * is for building the message once a check has failed.
 */
export function compiledSchema<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema)
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)))
  return check as TypeCheck<T>
}
