import type { Config, RoleName } from './config/options.ts'
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
    // Compacted changelogs: the truth behind each actor's bun:sqlite state (partition p holds the
    // state of input partition p).
    orderSagas: `${prefix}shop-order-sagas-changelog`,
    stock: `${prefix}shop-inventory-stock-changelog`,
    reservations: `${prefix}shop-inventory-reservations-changelog`,
    notified: `${prefix}shop-notifier-notified-changelog`,
    idempotencyKeys: `${prefix}shop-api-idempotency-changelog`,
  }
}
export type TopicNames = ReturnType<typeof topicNames>

const compacted = new Set<keyof TopicNames>(['orderSagas', 'stock', 'reservations', 'notified', 'idempotencyKeys'])

/**
 * Every topic gets the same partition count. That keeps co-partitioned topics aligned: the
 * OrderActor of partition p joins orders.created[p] with inventory.line-results[p], and the state of
 * partition p lives in partition p of its changelog.
 */
export function topicSpecs(config: Pick<Config, 'partitions' | 'topicPrefix'>): TopicSpec[] {
  const names = topicNames(config.topicPrefix)
  return (Object.keys(names) as Array<keyof TopicNames>).map((key) => ({
    name: names[key],
    partitions: config.partitions,
    ...(compacted.has(key) ? { config: { 'cleanup.policy': 'compact' } } : {}),
  }))
}

export const groupName = (prefix: string, role: string) => `${prefix}shop-${role}`

/** The topics each consuming role's group reads (its consumer lag is measured over these). */
export function roleInputs(t: TopicNames) {
  return {
    order: [t.ordersCreated, t.lineResults],
    inventory: [t.inventoryRequests],
    notifier: [t.reserved, t.failed],
    aggregator: [t.ordersCreated],
  } satisfies Record<Exclude<RoleName, 'api'>, string[]>
}
