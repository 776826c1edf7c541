import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { shipperHandler } from './handler.ts'

/** `--roles=shipper`: a shipper per partition of shipping.requests. */
export const shipperRole: RoleFactory = (ctx) => transactionalRole(ctx, 'shipper', shipperHandler(ctx.topics, 'shop/shipper'))
