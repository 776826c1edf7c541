import { describe, expect, test } from 'bun:test'
import type { Readiness } from '../api/health/readiness.ts'
import { createHttpApp } from './app.ts'
import { Metrics } from '../observability/metrics.ts'
import { paths } from './openapi.ts'
import { analyticsRoutes } from './analytics/index.ts'
import { consoleRoutes } from './console/index.ts'
import { orderRoutes } from './orders/index.ts'
import { stockRoutes } from './stock/index.ts'

function app(readiness: Readiness[], draining = false) {
  return createHttpApp({ readiness: () => readiness, draining: () => draining, metrics: new Metrics() })
}
const get = (a: ReturnType<typeof app>, path: string) => a.handle(new Request(`http://shop${path}`))

describe('HTTP probes', () => {
  test('/healthz answers 200 while the process lives', async () => {
    const res = await get(app([{ ready: false, reason: 'x' }]), '/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'alive' })
  })

  test('/readyz is 200 only when every role is ready', async () => {
    expect((await get(app([{ ready: true }, { ready: true }]), '/readyz')).status).toBe(200)
    const res = await get(app([{ ready: true }, { ready: false, reason: 'inventory: not a member of its consumer group yet' }]), '/readyz')
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.headers.get('retry-after')).toBe('1')
    const body = await res.json()
    expect(body).toMatchObject({ status: 503, reasons: ['inventory: not a member of its consumer group yet'] })
  })

  test('while draining, /readyz says so and other routes answer 503 problems', async () => {
    const a = app([{ ready: true }], true)
    const ready = await get(a, '/readyz')
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as { reasons: string[] }).reasons).toContain('shutting down')
    const other = await get(a, '/orders')
    expect(other.status).toBe(503)
    expect(await other.json()).toMatchObject({ status: 503, detail: 'shutting down' })
    const health = await get(a, '/healthz')
    expect(health.status).toBe(200)
    // Every answer closes its connection, so that none is idle when the listener closes.
    expect([ready, other, health].map((r) => r.headers.get('connection'))).toEqual(['close', 'close', 'close'])
  })

  test('an unknown route is a 404 problem body', async () => {
    const res = await get(app([{ ready: true }]), '/nowhere')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ status: 404, title: 'Not Found' })
  })
})

describe('OpenAPI', () => {
  // Every feature route of the api role; the handlers are never called here.
  const api = createHttpApp({ readiness: () => [], draining: () => false, metrics: new Metrics(), features: [orderRoutes({} as never, {} as never, () => {}), stockRoutes({} as never), analyticsRoutes({} as never, () => {}), consoleRoutes({} as never).routes] })

  test('/openapi.json documents every route the api serves and nothing else, each with a summary and its answers', async () => {
    const own = new Set(['/openapi.json', '/docs'])
    const served = api.routes.filter((r) => !own.has(r.path)).map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([^/]+)/g, '{$1}')}`)
    const res = await get(api, '/openapi.json')
    expect(res.status).toBe(200)
    const doc = (await res.json()) as { openapi: string; info: { title: string }; paths: Record<string, Record<string, { summary?: string; responses: Record<string, unknown> }>> }
    expect(doc.openapi).toStartWith('3.1.')
    expect(doc.info.title).toBe('shop')
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    expect(documented.toSorted()).toEqual([...new Set(served)].toSorted())
    expect(doc.paths).toEqual(JSON.parse(JSON.stringify(paths)))
    for (const operation of Object.values(doc.paths).flatMap((methods) => Object.values(methods))) {
      expect(operation.summary).toBeTruthy()
      expect(Object.keys(operation.responses).length).toBeGreaterThan(0)
    }
  })

  test('/docs renders the document', async () => {
    const res = await get(api, '/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/html')
    expect(await res.text()).toContain('openapi.json')
  })
})

