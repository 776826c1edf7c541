import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { warehouseHandler } from './handler.ts'

/** `--roles=warehouse`: pick-and-pack per partition of warehouse.requests. */
export const warehouseRole: RoleFactory = (ctx) => transactionalRole(ctx, 'warehouse', warehouseHandler(ctx.topics, ctx.config.warehousePickMs, 'shop/warehouse'))
