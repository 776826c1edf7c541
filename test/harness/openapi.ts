import { expect } from 'bun:test'
import type { TSchema } from '@sinclair/typebox'
import { compiledSchema } from '../../src/events/check.ts'
import { paths } from '../../src/api/openapi.ts'

type Operation = { responses: Record<string, { content?: Record<string, { schema: TSchema }> }> }

const operations = Object.entries(paths).map(([template, methods]) => ({
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  methods: methods as Record<string, Operation>,
}))

/**
 * Checks an HTTP answer against the OpenAPI document (src/api/openapi.ts): the operation exists,
 * the status is one it documents, and the body has the documented content type and schema. A 405
 * (a method the path does not have) is documented once, for the whole API.
 */
export function expectDocumented(method: string, url: string, answer: { status: number; headers: Headers; body: unknown }): void {
  if (answer.status === 405) return
  const path = new URL(url, 'http://shop').pathname
  const operation = operations.find((o) => o.pattern.test(path))?.methods[method.toLowerCase()]
  expect(operation === undefined ? `${method} ${path} is not in the OpenAPI document` : 'documented').toBe('documented')
  const documented = operation!.responses[String(answer.status)]
  expect(documented === undefined ? `${method} ${path} answered ${answer.status}, which the document does not list` : 'documented').toBe('documented')
  const type = (answer.headers.get('content-type') ?? '').split(';')[0]
  const content = documented.content?.[type]
  expect(content === undefined ? `${method} ${path} ${answer.status} answered ${type}, documented: ${Object.keys(documented.content ?? {})}` : 'documented').toBe('documented')
  const check = compiledSchema(content!.schema)
  const errors = check.Check(answer.body) ? [] : [...check.Errors(answer.body)].slice(0, 5).map((e) => `${e.path}: ${e.message}`)
  expect({ answer: `${method} ${path} ${answer.status}`, errors }).toEqual({ answer: `${method} ${path} ${answer.status}`, errors: [] })
}
