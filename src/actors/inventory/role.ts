import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { inventoryHandler } from './handler.ts'

/** `--roles=inventory`: an InventoryActor per partition of inventory.requests, single writer of its SKUs. */
export const inventoryRole: RoleFactory = (ctx) => transactionalRole(ctx, 'inventory', inventoryHandler(ctx.topics, 'shop/inventory'))
