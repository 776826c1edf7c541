import { describe, expect, test } from 'bun:test'
import type { Readiness } from '../api/health/readiness.ts'
import { createHttpApp } from './app.ts'

function app(readiness: Readiness[], draining = false) {
  return createHttpApp({ readiness: () => readiness, draining: () => draining })
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
    expect((await get(a, '/healthz')).status).toBe(200)
  })

  test('an unknown route is a 404 problem body', async () => {
    const res = await get(app([{ ready: true }]), '/nowhere')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ status: 404, title: 'Not Found' })
  })
})
