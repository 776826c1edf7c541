import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { orderHandler } from './handler.ts'

/** `--roles=order`: an OrderActor per partition of orders.created / inventory.line-results. */
export const orderRole: RoleFactory = (ctx) => transactionalRole(ctx, 'order', orderHandler(ctx.topics, 'shop/order', ctx.metrics))
