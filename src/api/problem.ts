import { Elysia } from 'elysia'
import { BadRequestError, MethodNotAllowedError, ShopError, UnauthorizedError } from '../errors.ts'

/** An RFC 9457 problem body. */
export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  [extension: string]: unknown
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  })
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * The one place errors become HTTP responses: every error reaching Elysia leaves as
 * `application/problem+json`. ShopErrors carry their status; anything else is a 500 without
 * internals in the body.
 */
export const problems = new Elysia({ name: 'shop:problems' }).onError({ as: 'global' }, (context) => {
  const response = problemOf(context.code, context.error)
  // Recorded for what runs after the response (the HTTP metrics), which does not see it otherwise.
  context.set.status = response.status
  return response
})

function problemOf(code: string | number, error: unknown): Response {
  if (error instanceof ShopError && error.status === 500) {
    // A failure of shop or of the broker: no message leaves (it may name hosts and ports). What
    // a retry may cure (timeouts, an unreachable broker) is a 503 the client can retry.
    if (error.retryable) return problemResponse({ type: 'urn:shop:error:SHOP_UNAVAILABLE', title: titles[503], status: 503, detail: 'a dependency is unavailable; retry shortly' }, { 'retry-after': '1' })
    return problemResponse({ type: `urn:shop:error:${error.code}`, title: titles[500], status: 500 })
  }
  if (error instanceof ShopError) {
    const headers: Record<string, string> = error.status === 503 ? { 'retry-after': '1' } : {}
    if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ')
    if (error instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer realm="shop"'
    // Extensions never replace the standard members (a `status` extension would become the HTTP status).
    const problem: Problem = { ...error.extensions, type: `urn:shop:error:${error.code}`, title: titles[error.status] ?? 'Error', status: error.status, detail: error.message }
    if (error instanceof BadRequestError && error.errors.length > 0) problem.errors = error.errors
    return problemResponse(problem, headers)
  }
  // Bodies are read by readJson (routes declare parse: 'none'), so Elysia's own parse and
  // validation errors never arise; what is left is an unknown route or an unexpected failure.
  if (code === 'NOT_FOUND') return problemResponse({ type: 'about:blank', title: titles[404], status: 404 })
  return problemResponse({ type: 'about:blank', title: titles[500], status: 500 })
}
