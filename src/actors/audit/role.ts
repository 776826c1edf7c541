import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { auditHandler } from './handler.ts'

/** `--roles=audit`: the facts again on the audit.* topics, for Kafka Connect's JDBC sink (deploy/connect/). */
export const auditRole: RoleFactory = (ctx) => transactionalRole(ctx, 'audit', auditHandler(ctx.topics))
