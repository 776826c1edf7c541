import type { RoleName } from '../config/options.ts'
import { ConsumerRole } from './consumer-role.ts'
import type { Role, RoleContext } from './types.ts'

/**
 * The roles a process can run. Until their issue lands, order, inventory, notifier and aggregator
 * are idle placeholders: each joins its consumer group on its real topics with an actor per
 * partition that reads records and does nothing with them (commits nothing, produces nothing).
 */
const idle = () => ({ receive: () => {} })

export function createRole(name: RoleName, ctx: RoleContext): Role {
  const t = ctx.topics
  switch (name) {
    case 'api':
      return apiRole(ctx)
    case 'order':
      return new ConsumerRole(ctx, { name, topics: [t.ordersCreated, t.lineResults], partitionActor: idle })
    case 'inventory':
      return new ConsumerRole(ctx, { name, topics: [t.inventoryRequests], partitionActor: idle })
    case 'notifier':
      return new ConsumerRole(ctx, { name, topics: [t.reserved, t.failed], partitionActor: idle })
    case 'aggregator':
      return new ConsumerRole(ctx, { name, topics: [t.ordersCreated], partitionActor: idle })
  }
}

/** The api role serves HTTP; the order endpoints arrive with the order-pipeline issue. */
function apiRole(_ctx: RoleContext): Role {
  let stopping = false
  return {
    name: 'api',
    async start() {},
    readiness: () => (stopping ? { ready: false, reason: 'api: stopping' } : { ready: true }),
    async stop() {
      stopping = true
    },
  }
}
