import type { Role, RoleContext } from '../actors/runtime/role.ts'
import { NotReadyError } from '../errors.ts'
import { registryRoutes } from './routes.ts'
import { adminCheck } from '../api/admin.ts'

/**
 * `--roles=registry`: a Confluent-compatible schema registry at `/registry` on the process's HTTP
 * port, for shop's other processes (`--schema-registry-url=http://host:port/registry`) and for
 * any Kafka tool that reads shop's topics. Its storage is the `_schemas` topic that every shop
 * process without `--schema-registry-url` also reads and writes directly (see store.ts).
 */
export function registryRole(ctx: RoleContext): Role {
  let started = false
  let stopping = false
  const readiness = () => (stopping ? { ready: false as const, reason: 'registry: stopping' } : started ? { ready: true as const } : { ready: false as const, reason: 'registry: reading _schemas' })
  return {
    name: 'registry',
    http: registryRoutes(
      ctx.schemaStore,
      () => {
        const r = readiness()
        if (!r.ready) throw new NotReadyError(r.reason)
      },
      adminCheck(ctx.config.adminToken),
    ),
    async start() {
      await ctx.schemaStore.catchUp()
      started = true
    },
    readiness,
    async stop() {
      stopping = true
    },
  }
}
