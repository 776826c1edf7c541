/**
 * `bun:test` on Deno: deno.json maps the import here, so one test source runs under both
 * `bun test` and `deno test`. describe/test/hooks become `Deno.test` registrations (Deno runs a
 * file's tests in the order they were registered, one file per isolate); `expect` is Jest's, from
 * npm, with Bun's extra matchers that the suite uses.
 */
import { expect as jestExpect } from 'expect'

declare const Deno: {
  test(definition: { name: string; fn: () => Promise<void>; ignore?: boolean; sanitizeOps: false; sanitizeResources: false; sanitizeExit: false }): void
  env: { get(name: string): string | undefined }
}

type Hook = () => unknown
type Body = (...args: never[]) => unknown

interface Scope {
  name: string
  parent?: Scope
  beforeAll: Hook[]
  afterAll: Hook[]
  beforeEach: Hook[]
  afterEach: Hook[]
  /** Tests in this scope and those inside it that have not run yet. */
  remaining: number
  started: boolean
  /** describe.skipIf: its tests are reported as ignored. */
  ignored: boolean
}

const newScope = (name: string, parent?: Scope): Scope => ({ name, parent, beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], remaining: 0, started: false, ignored: false })
const root = newScope('')
let current = root

/** As `bun test --timeout`: the default for a test that names none. */
const defaultTimeoutMs = Number(Deno.env.get('SHOP_TEST_TIMEOUT_MS') ?? 60_000)

const chain = (scope: Scope): Scope[] => (scope.parent ? [...chain(scope.parent), scope] : [scope])

async function withTimeout(run: () => unknown, ms: number, name: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`"${name}" timed out after ${ms} ms`)), ms)
  })
  try {
    await Promise.race([run(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function register(name: string, fn: Body, timeout: number | { timeout?: number } | undefined, skip = false): void {
  const scopes = chain(current)
  const ignore = skip || scopes.some((s) => s.ignored)
  const fullName = [...scopes.map((s) => s.name).filter(Boolean), name].join(' > ')
  if (!ignore) for (const s of scopes) s.remaining++
  const ms = (typeof timeout === 'number' ? timeout : timeout?.timeout) ?? defaultTimeoutMs
  Deno.test({
    name: fullName,
    ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    sanitizeExit: false,
    async fn() {
      try {
        for (const s of scopes) {
          if (s.started) continue
          s.started = true
          for (const hook of s.beforeAll) await withTimeout(hook, ms, `beforeAll of ${s.name || 'the file'}`)
        }
        for (const s of scopes) for (const hook of s.beforeEach) await hook()
        try {
          await withTimeout(() => (fn as () => unknown)(), ms, fullName)
        } finally {
          for (const s of [...scopes].reverse()) for (const hook of s.afterEach) await hook()
        }
      } finally {
        for (const s of [...scopes].reverse()) {
          if (--s.remaining === 0) for (const hook of s.afterAll) await withTimeout(hook, ms, `afterAll of ${s.name || 'the file'}`)
        }
      }
    },
  })
}

/** Bun's `%s`, `%p`, `%d`, `%i`, `%j`, `%o` and `%#` in a `test.each` name. */
function title(template: string, args: unknown[], index: number): string {
  let next = 0
  return template.replace(/%[spdijo#%]/g, (token) => {
    if (token === '%%') return '%'
    if (token === '%#') return String(index)
    const value = args[next++]
    if (token === '%s') return String(value)
    if (token === '%d' || token === '%i') return String(Number(value))
    return typeof value === 'string' ? JSON.stringify(value) : inspect(value)
  })
}

const inspect = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? `[Function ${v.name}]` : v instanceof RegExp ? String(v) : v))
  } catch {
    return String(value)
  }
}

type TestFn = {
  (name: string, fn: Body, timeout?: number | { timeout?: number }): void
  each<T>(table: readonly T[]): (name: string, fn: (...args: T extends readonly unknown[] ? T : [T]) => unknown, timeout?: number) => void
  skipIf(condition: boolean): (name: string, fn: Body, timeout?: number) => void
  if(condition: boolean): (name: string, fn: Body, timeout?: number) => void
}

export const test: TestFn = Object.assign((name: string, fn: Body, timeout?: number | { timeout?: number }) => register(name, fn, timeout), {
  each:
    <T>(table: readonly T[]) =>
    (name: string, fn: (...args: never[]) => unknown, timeout?: number) =>
      table.forEach((row, i) => {
        const args = Array.isArray(row) ? row : [row]
        register(title(name, args, i), () => (fn as (...a: unknown[]) => unknown)(...args), timeout)
      }),
  skipIf: (condition: boolean) => (name: string, fn: Body, timeout?: number) => register(name, fn, timeout, condition),
  if: (condition: boolean) => (name: string, fn: Body, timeout?: number) => register(name, fn, timeout, !condition),
}) as TestFn
export const it = test

type DescribeFn = { (name: string, body: () => void): void; skipIf(condition: boolean): (name: string, body: () => void) => void }

function group(name: string, body: () => void, ignored: boolean): void {
  const parent = current
  current = { ...newScope(name, parent), ignored }
  try {
    body()
  } finally {
    current = parent
  }
}

export const describe: DescribeFn = Object.assign((name: string, body: () => void) => group(name, body, false), {
  skipIf: (condition: boolean) => (name: string, body: () => void) => group(name, body, condition),
})

export const beforeAll = (hook: Hook) => void current.beforeAll.push(hook)
export const afterAll = (hook: Hook) => void current.afterAll.push(hook)
export const beforeEach = (hook: Hook) => void current.beforeEach.push(hook)
export const afterEach = (hook: Hook) => void current.afterEach.push(hook)

jestExpect.extend({
  toStartWith(received: string, prefix: string) {
    const pass = typeof received === 'string' && received.startsWith(prefix)
    return { pass, message: () => `expected ${JSON.stringify(received)} ${pass ? 'not ' : ''}to start with ${JSON.stringify(prefix)}` }
  },
})

export const expect = jestExpect as unknown as typeof import('bun:test').expect
