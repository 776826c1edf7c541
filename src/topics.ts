import type { Config } from './config/options.ts'
import type { TopicSpec } from './kafka/types.ts'

/** Every topic shop uses, named once. A prefix lets several deployments (or tests) share a cluster. */
export function topicNames(prefix: string) {
  return {
    ordersCreated: `${prefix}orders.created`,
    inventoryRequests: `${prefix}inventory.requests`,
    lineResults: `${prefix}inventory.line-results`,
    reserved: `${prefix}inventory.reserved`,
    failed: `${prefix}inventory.failed`,
    orderRate: `${prefix}metrics.order.rate`,
    deadLetter: `${prefix}shop.dlq`,
  }
}
export type TopicNames = ReturnType<typeof topicNames>

/**
 * Every topic gets the same partition count. That keeps co-partitioned topics aligned: the
 * OrderActor of partition p joins orders.created[p] with inventory.line-results[p].
 */
export function topicSpecs(config: Pick<Config, 'partitions' | 'topicPrefix'>): TopicSpec[] {
  const names = topicNames(config.topicPrefix)
  return Object.values(names).map((name) => ({ name, partitions: config.partitions }))
}

export const groupName = (prefix: string, role: string) => `${prefix}shop-${role}`
