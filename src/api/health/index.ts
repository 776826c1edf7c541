import { Elysia } from 'elysia'
import type { Readiness } from '../../api/health/readiness.ts'
import { problemResponse } from '../problem.ts'

/**
 * Probes. /healthz: the process is alive and serving. /readyz: 200 only when every actor of the
 * process runs and every role is ready (on Kafka: its consumer joined its group and was assigned);
 * otherwise 503 with the reasons.
 */
export function healthRoutes(readiness: () => Readiness[]) {
  return new Elysia({ name: 'shop:health' })
    .get('/healthz', () => ({ status: 'alive' }))
    .get('/readyz', () => {
      const reasons = readiness().flatMap((r) => (r.ready ? [] : [r.reason]))
      if (reasons.length === 0) return { status: 'ready' }
      return problemResponse(
        { type: 'urn:shop:error:SHOP_NOT_READY', title: 'Service Unavailable', status: 503, detail: reasons.join('; '), reasons },
        { 'retry-after': '1' },
      )
    })
}
