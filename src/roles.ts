import { aggregatorRole } from './actors/aggregator/role.ts'
import { inventoryRole } from './actors/inventory/role.ts'
import { notifierRole } from './actors/notifier/role.ts'
import { orderRole } from './actors/order/role.ts'
import type { RoleFactory } from './actors/runtime/role.ts'
import { apiRole } from './api/role.ts'
import type { RoleName } from './config/options.ts'

/** The roles a process can run (`--roles`), each wired in its own folder; what they read and write is in topology.ts. */
export const roles: Record<RoleName, RoleFactory> = {
  api: apiRole,
  order: orderRole,
  inventory: inventoryRole,
  notifier: notifierRole,
  aggregator: aggregatorRole,
}
