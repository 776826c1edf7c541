import { type AnyElysia, Elysia } from 'elysia'
import { MethodNotAllowedError, NotReadyError } from '../errors.ts'
import type { Readiness } from '../api/health/readiness.ts'
import { healthRoutes } from './health/index.ts'
import { openapiRoutes } from './openapi.ts'
import { problems } from './problem.ts'
import type { Metrics } from '../observability/metrics.ts'
import { type Span, endSpan, serverSpan, within } from '../observability/tracing.ts'

export interface HttpAppOptions {
  readiness: () => Readiness[]
  /** The process's metrics: served at /metrics, and every request is counted and timed. */
  metrics: Metrics
  /** True once shutdown began: every route but the probes answers 503. */
  draining: () => boolean
  /** Feature routes of the roles this process runs. */
  features?: AnyElysia[]
}

/** Paths that answer while the process drains: the probes and the metrics. */
const alwaysServed = new Set(['/healthz', '/readyz', '/metrics'])

/** The HTTP face of a process: probes, metrics and the OpenAPI document for every process, feature routes per role. */
export function createHttpApp(options: HttpAppOptions) {
  const { metrics } = options
  let allowed: ((method: string, path: string) => string[] | undefined) | undefined
  const started = new WeakMap<Request, number>()
  const spans = new WeakMap<Request, Span>()
  const app = new Elysia()
    // Each request runs in its SERVER span (a child of the caller's traceparent), so the spans
    // and log lines of its handling belong to it; it is named and ended once answered.
    .wrap((handle, request) => (...args: unknown[]) => {
      const span = serverSpan(request)
      spans.set(request, span)
      return within(span, () => handle(...args))
    })
    .use(problems)
    .onRequest(({ request, set }) => {
      started.set(request, performance.now())
      const path = new URL(request.url).pathname
      allowed ??= methodsByPath(app.routes)
      const allow = allowed(request.method, path)
      if (allow) throw new MethodNotAllowedError(request.method, allow)
      if (!options.draining()) return
      // No connection is kept for a next request: the listener closes once the roles have
      // stopped, and a request sent on an idle connection just as it closes gets no answer.
      set.headers.connection = 'close'
      if (alwaysServed.has(path)) return
      throw new NotReadyError('shutting down')
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const from = started.get(request)
      if (from === undefined) return
      // The route pattern, not the path (/orders/:orderId), so that ids never become label values.
      const labels = { method: request.method, route: route || 'unmatched', status: String(statusOf(responseValue, set.status)) }
      metrics.httpRequests.inc(labels)
      metrics.httpDuration.observe(labels, (performance.now() - from) / 1000)
      const span = spans.get(request)
      if (!span) return
      if (route) span.updateName(`${request.method} ${route}`).setAttribute('http.route', route)
      span.setAttribute('http.response.status_code', Number(labels.status))
      endSpan(span, Number(labels.status) >= 500 ? new Error(`HTTP ${labels.status}`) : undefined)
    })
    .use(healthRoutes(() => [...options.readiness(), ...(options.draining() ? [{ ready: false as const, reason: 'shutting down' }] : [])]))
    // ?format=json: prom-client's JSON, which a supervising process (--workers) reads from its workers to sum them.
    .get('/metrics', async ({ query }) =>
      query.format === 'json' ? Response.json(await metrics.json()) : new Response(await metrics.text(), { headers: { 'content-type': metrics.contentType } }),
    )
  for (const feature of options.features ?? []) app.use(feature)
  return app.use(openapiRoutes())
}

/** The status sent: a Response's own (probes), else what the handler or the problems plugin set. */
function statusOf(response: unknown, set: number | string | undefined): number {
  if (response instanceof Response) return response.status
  return typeof set === 'number' ? set : 200
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
