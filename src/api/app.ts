import { type AnyElysia, Elysia } from 'elysia'
import { NotReadyError } from '../errors.ts'
import type { Readiness } from '../api/health/readiness.ts'
import { healthRoutes } from './health/index.ts'
import { problems } from './problem.ts'

export interface HttpAppOptions {
  readiness: () => Readiness[]
  /** True once shutdown began: every route but the probes answers 503. */
  draining: () => boolean
  /** Feature routes of the roles this process runs. */
  features?: AnyElysia[]
}

/** The HTTP face of a process: probes for every process, feature routes per role. */
export function createHttpApp(options: HttpAppOptions) {
  const app = new Elysia()
    .use(problems)
    .onRequest(({ request }) => {
      if (!options.draining()) return
      const path = new URL(request.url).pathname
      if (path === '/healthz' || path === '/readyz') return
      throw new NotReadyError('shutting down')
    })
    .use(healthRoutes(() => [...options.readiness(), ...(options.draining() ? [{ ready: false as const, reason: 'shutting down' }] : [])]))
  for (const feature of options.features ?? []) app.use(feature)
  return app
}
