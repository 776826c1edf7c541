import { aggregatorRole } from './actors/aggregator/role.ts'
import { auditRole } from './actors/audit/role.ts'
import { inventoryRole } from './actors/inventory/role.ts'
import { notifierRole } from './actors/notifier/role.ts'
import { orderRole } from './actors/order/role.ts'
import { paymentRole } from './actors/payment/role.ts'
import { projectorRole } from './actors/projector/role.ts'
import { shipperRole } from './actors/shipper/role.ts'
import { warehouseRole } from './actors/warehouse/role.ts'
import type { RoleFactory } from './actors/runtime/role.ts'
import { apiRole } from './api/role.ts'
import { registryRole } from './registry/role.ts'
import type { RoleName } from './config/options.ts'

/** The roles a process can run (`--roles`), each wired in its own folder; what they read and write is in topology.ts. */
export const roles: Record<RoleName, RoleFactory> = {
  api: apiRole,
  order: orderRole,
  inventory: inventoryRole,
  payment: paymentRole,
  warehouse: warehouseRole,
  shipper: shipperRole,
  notifier: notifierRole,
  projector: projectorRole,
  aggregator: aggregatorRole,
  registry: registryRole,
  audit: auditRole,
}
