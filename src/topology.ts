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

/**
 * The topology: which topics each role reads and writes, and the state stores (store name ->
 * compacted changelog) its actors own. Consuming roles read their `reads` as one consumer group
 * (`groupName`), co-partitioned; the api reads its topics as views, without a group.
 *
 * ```
 * api        writes orders.created (key user), inventory.requests (stock levels), idempotency keys
 * order      reads orders.created + inventory.line-results (co-partitioned, key user)
 *            writes inventory.requests (key SKU), inventory.reserved | inventory.failed
 * inventory  reads inventory.requests, writes inventory.line-results (key user)
 * notifier   reads inventory.reserved + inventory.failed, writes to sinks (console, webhook)
 * every consuming role dead-letters to shop.dlq
 * ```
 */
export function topology(t: TopicNames) {
  return {
    api: { reads: [t.stock, t.idempotencyKeys], writes: [t.ordersCreated, t.inventoryRequests, t.idempotencyKeys], stores: {} },
    order: { reads: [t.ordersCreated, t.lineResults], writes: [t.inventoryRequests, t.reserved, t.failed, t.deadLetter], stores: { sagas: t.orderSagas } },
    inventory: { reads: [t.inventoryRequests], writes: [t.lineResults, t.deadLetter], stores: { stock: t.stock, reservations: t.reservations } },
    notifier: { reads: [t.reserved, t.failed], writes: [t.deadLetter], stores: { notified: t.notified } },
    // A placeholder until the RateAggregator lands: it reads and commits, and writes nothing yet.
    aggregator: { reads: [t.ordersCreated], writes: [], stores: {} },
  } satisfies Record<RoleName, { reads: string[]; writes: string[]; stores: Record<string, string> }>
}

const compacted = new Set<keyof TopicNames>(['orderSagas', 'stock', 'reservations', 'notified', 'idempotencyKeys'])

/**
 * Every topic gets the same partition count. That keeps co-partitioned topics aligned: the
 * OrderActor of partition p joins orders.created[p] with inventory.line-results[p], and the state of
 * partition p lives in partition p of its changelog.
 */
export function topicSpecs(config: Pick<Config, 'partitions' | 'topicPrefix' | 'idempotencyTtlMs'>): TopicSpec[] {
  const names = topicNames(config.topicPrefix)
  const settings = (key: keyof TopicNames): Record<string, string> | undefined => {
    // Idempotency keys expire: the broker deletes them a window later (and views ignore them sooner).
    if (key === 'idempotencyKeys') return { 'cleanup.policy': 'compact,delete', 'retention.ms': String(config.idempotencyTtlMs) }
    return compacted.has(key) ? { 'cleanup.policy': 'compact' } : undefined
  }
  return (Object.keys(names) as Array<keyof TopicNames>).map((key) => ({ name: names[key], partitions: config.partitions, ...(settings(key) ? { config: settings(key) } : {}) }))
}

/** The consumer group of a consuming role (also the prefix of its transactional ids). */
export const groupName = (prefix: string, role: string) => `${prefix}shop-${role}`
