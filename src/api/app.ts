import { type AnyElysia, Elysia } from 'elysia'
import { MethodNotAllowedError, NotReadyError } from '../errors.ts'
import type { Readiness } from '../api/health/readiness.ts'
import { healthRoutes } from './health/index.ts'
import { openapiRoutes } from './openapi.ts'
import { problems } from './problem.ts'

export interface HttpAppOptions {
  readiness: () => Readiness[]
  /** True once shutdown began: every route but the probes answers 503. */
  draining: () => boolean
  /** Feature routes of the roles this process runs. */
  features?: AnyElysia[]
}

/** The HTTP face of a process: probes and the OpenAPI document for every process, feature routes per role. */
export function createHttpApp(options: HttpAppOptions) {
  let allowed: ((method: string, path: string) => string[] | undefined) | undefined
  const app = new Elysia()
    .use(problems)
    .onRequest(({ request }) => {
      const path = new URL(request.url).pathname
      allowed ??= methodsByPath(app.routes)
      const allow = allowed(request.method, path)
      if (allow) throw new MethodNotAllowedError(request.method, allow)
      if (!options.draining()) return
      if (path === '/healthz' || path === '/readyz') return
      throw new NotReadyError('shutting down')
    })
    .use(healthRoutes(() => [...options.readiness(), ...(options.draining() ? [{ ready: false as const, reason: 'shutting down' }] : [])]))
  for (const feature of options.features ?? []) app.use(feature)
  return app.use(openapiRoutes())
}

/**
 * For a request whose path is routed but not for its method: the methods the path has (a 405's
 * `Allow`). Undefined when the method is routed there, or the path is not routed at all (404).
 */
function methodsByPath(routes: Array<{ method: string; path: string }>) {
  const patterns = routes.map((r) => ({ method: r.method.toUpperCase(), pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}/?$`) }))
  return (method: string, path: string): string[] | undefined => {
    const matching = patterns.filter((p) => p.pattern.test(path)).map((p) => p.method)
    if (matching.length === 0 || matching.includes(method.toUpperCase())) return undefined
    if (method.toUpperCase() === 'HEAD' && matching.includes('GET')) return undefined
    return [...new Set(matching)]
  }
}
