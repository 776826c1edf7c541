import type { Config, RoleName } from './config/options.ts'
import type { TopicSpec } from './kafka/types.ts'
import { type EventType, events } from '../schemas/events.ts'

/** Every topic shop uses, named once. A prefix lets several deployments (or tests) share a cluster. */
export function topicNames(prefix: string) {
  return {
    ordersCreated: `${prefix}orders.created`,
    inventoryRequests: `${prefix}inventory.requests`,
    lineResults: `${prefix}inventory.line-results`,
    reserved: `${prefix}inventory.reserved`,
    failed: `${prefix}inventory.failed`,
    // The rest of an order's life: commands from the OrderActor (*.requests) and their results,
    // all keyed by user, so they meet the order on its partition.
    orderStatus: `${prefix}order.status`,
    cancelRequests: `${prefix}order.cancel-requests`,
    paymentRequests: `${prefix}payment.requests`,
    paymentProcessed: `${prefix}payment.processed`,
    paymentFailed: `${prefix}payment.failed`,
    paymentRefunded: `${prefix}payment.refunded`,
    warehouseRequests: `${prefix}warehouse.requests`,
    packed: `${prefix}order.packed`,
    shippingRequests: `${prefix}shipping.requests`,
    shipped: `${prefix}order.shipped`,
    notificationRequests: `${prefix}notification.requests`,
    // The schema registry's storage (Confluent's layout): one compacted partition.
    schemas: `${prefix}_schemas`,
    orderRate: `${prefix}metrics.order.rate`,
    deadLetter: `${prefix}shop.dlq`,
    // Which dead-lettered records were replayed to their origin (compacted, key DLQ partition:offset).
    deadLetterReplays: `${prefix}shop.dlq.replays`,
    // Every process's heartbeat: its roles and readiness, for the console (compacted, key process id).
    processes: `${prefix}shop-processes`,
    // Compacted changelogs: the truth behind each actor's bun:sqlite state (partition p holds the
    // state of input partition p).
    orderSagas: `${prefix}shop-order-sagas-changelog`,
    stock: `${prefix}shop-inventory-stock-changelog`,
    reservations: `${prefix}shop-inventory-reservations-changelog`,
    notified: `${prefix}shop-notifier-notified-changelog`,
    idempotencyKeys: `${prefix}shop-api-idempotency-changelog`,
    aggregatorOrders: `${prefix}shop-aggregator-orders-changelog`,
    aggregatorWindows: `${prefix}shop-aggregator-windows-changelog`,
    // The aggregator's repartition topic: per-record partial counts keyed by window (and stream
    // time ticks to every partition), so that each window has one owner that sums them.
    aggregatorPartials: `${prefix}shop-aggregator-partials-repartition`,
    // The audit trail: each business fact again, written by the audit role in Kafka Connect's
    // JsonConverter envelope ({schema, payload}), for Connect's JDBC sink to write into PostgreSQL
    // (a table per topic, named after it: dots become underscores, see deploy/connect/). The names
    // are the facts' topics under `audit.`, with `_` for `-` so that the tables need no quotes.
    auditOrdersCreated: `${prefix}audit.orders.created`,
    auditCancelRequests: `${prefix}audit.order.cancel_requests`,
    auditReserved: `${prefix}audit.inventory.reserved`,
    auditFailed: `${prefix}audit.inventory.failed`,
    auditOrderStatus: `${prefix}audit.order.status`,
    auditPaymentProcessed: `${prefix}audit.payment.processed`,
    auditPaymentFailed: `${prefix}audit.payment.failed`,
    auditPaymentRefunded: `${prefix}audit.payment.refunded`,
    auditPacked: `${prefix}audit.order.packed`,
    auditShipped: `${prefix}audit.order.shipped`,
  }
}
export type TopicNames = ReturnType<typeof topicNames>

/**
 * The topology: which topics each role reads and writes, and the state stores (store name ->
 * compacted changelog) its actors own. Consuming roles read their `reads` as one consumer group
 * (`groupName`), co-partitioned; the api reads its topics as views, without a group.
 *
 * ```
 * api        writes orders.created (key user), order.cancel-requests (key user),
 *            inventory.requests (stock levels), idempotency keys; its console (/console) follows
 *            order.status, shop.dlq and shop-processes, and replays a dead-lettered record to its
 *            origin topic with a mark on shop.dlq.replays, in one transaction
 * order      reads orders.created, inventory.line-results and every result of the order's life
 *            (co-partitioned, key user); the saga's single writer:
 *            writes inventory.requests (key SKU), inventory.reserved | inventory.failed,
 *            payment.requests, warehouse.requests, shipping.requests, order.status
 * inventory  reads inventory.requests, writes inventory.line-results (key user)
 * payment    reads payment.requests (the outbox of charges and refunds), calls the provider,
 *            writes payment.processed | payment.failed | payment.refunded
 * warehouse  reads warehouse.requests, writes order.packed
 * shipper    reads shipping.requests, writes order.shipped
 * notifier   reads order.status, writes the console sink and notification.requests (the outbox
 *            of the webhook and smtp sinks); its delivery group reads notification.requests and
 *            delivers them
 * projector  reads order.status into the read model (SQL; offsets in the same database transaction)
 * aggregator reads orders.created, inventory.reserved | inventory.failed; counts each order in its
 *            minute (event time) and writes partial counts keyed by window to its repartition
 *            topic; its `aggregator-windows` group sums them per window and writes
 *            metrics.order.rate (compacted, key window start)
 * audit      reads the facts of auditedTopics, writes each to its audit.* topic in Kafka Connect's
 *            {schema, payload} envelope, CloudEvents headers kept (Connect's JDBC sink reads them)
 * registry   serves the schema registry's REST API at /registry over _schemas (every process
 *            reads and writes _schemas itself when no --schema-registry-url is set)
 * every consuming role dead-letters to shop.dlq
 * every process beats on shop-processes (its roles and readiness, every few seconds)
 * ```
 */
export function topology(t: TopicNames) {
  return {
    // The console's reads and writes are the api's too: it follows order.status, the dead-letter topic,
    // its replays and the heartbeats, and replays a dead-lettered record to the topic it came from.
    api: {
      reads: [t.stock, t.idempotencyKeys, t.orderRate, t.orderStatus, t.deadLetter, t.deadLetterReplays, t.processes],
      writes: [t.ordersCreated, t.cancelRequests, t.inventoryRequests, t.idempotencyKeys, t.deadLetterReplays],
      stores: {},
    },
    order: {
      reads: [t.ordersCreated, t.lineResults, t.paymentProcessed, t.paymentFailed, t.paymentRefunded, t.packed, t.shipped, t.cancelRequests],
      writes: [t.inventoryRequests, t.reserved, t.failed, t.paymentRequests, t.warehouseRequests, t.shippingRequests, t.orderStatus, t.deadLetter],
      stores: { sagas: t.orderSagas },
    },
    inventory: { reads: [t.inventoryRequests], writes: [t.lineResults, t.deadLetter], stores: { stock: t.stock, reservations: t.reservations } },
    payment: { reads: [t.paymentRequests], writes: [t.paymentProcessed, t.paymentFailed, t.paymentRefunded, t.deadLetter], stores: {} },
    warehouse: { reads: [t.warehouseRequests], writes: [t.packed, t.deadLetter], stores: {} },
    shipper: { reads: [t.shippingRequests], writes: [t.shipped, t.deadLetter], stores: {} },
    notifier: { reads: [t.orderStatus], writes: [t.notificationRequests, t.deadLetter], stores: { notified: t.notified } },
    delivery: { reads: [t.notificationRequests], writes: [t.deadLetter], stores: {} },
    projector: { reads: [t.orderStatus], writes: [], stores: {} },
    aggregator: { reads: [t.ordersCreated, t.reserved, t.failed], writes: [t.aggregatorPartials, t.deadLetter], stores: { orders: t.aggregatorOrders } },
    // Not a consumer group: the schema registry's REST API over the _schemas topic.
    registry: { reads: [t.schemas], writes: [t.schemas], stores: {} },
    audit: { reads: auditedTopics(t).map(([fact]) => fact), writes: [...auditedTopics(t).map(([, audit]) => audit), t.deadLetter], stores: {} },
    'aggregator-windows': { reads: [t.aggregatorPartials], writes: [t.orderRate, t.deadLetter], stores: { windows: t.aggregatorWindows } },
  } satisfies Record<GroupName, { reads: string[]; writes: string[]; stores: Record<string, string> }>
}

/**
 * The consumer groups: one per consuming role, `delivery`, the notifier role's second group (its
 * outbox dispatcher, apart so that a slow receiver never holds up the deciding Notifier), and
 * `aggregator-windows`, the aggregator's second stage (the owner of each window).
 */
export type GroupName = RoleName | 'delivery' | 'aggregator-windows'

/** How long shop.dlq keeps a dead letter. */
const deadLetterRetentionMs = 7 * 86_400_000

const compacted = new Set<keyof TopicNames>(['deadLetterReplays', 'processes', 'orderSagas', 'stock', 'reservations', 'notified', 'idempotencyKeys', 'aggregatorOrders', 'aggregatorWindows', 'orderRate', 'schemas'])

/**
 * Every topic gets the same partition count. That keeps co-partitioned topics aligned: the
 * OrderActor of partition p joins orders.created[p] with inventory.line-results[p], and the state of
 * partition p lives in partition p of its changelog. The audit topics are created by the process
 * that runs the audit role, their one writer (a deployment without Kafka Connect has none).
 */
export function topicSpecs(config: Pick<Config, 'partitions' | 'topicPrefix' | 'idempotencyTtlMs' | 'roles'>): TopicSpec[] {
  const names = topicNames(config.topicPrefix)
  const audit = new Set(auditedTopics(names).map(([, topic]) => topic))
  const settings = (key: keyof TopicNames): Record<string, string> | undefined => {
    // Idempotency keys expire: the broker deletes them a window later (and views ignore them sooner).
    if (key === 'idempotencyKeys') return { 'cleanup.policy': 'compact,delete', 'retention.ms': String(config.idempotencyTtlMs) }
    // Dead letters wait for a person: a week, a broker's default, said here so that the memory bus
    // (whose other topics keep --memory-retention-ms) keeps them as long.
    if (key === 'deadLetter') return { 'retention.ms': String(deadLetterRetentionMs) }
    // The active segment rolls hourly so the cleaner can compact it: a changelog read without a cache
    // (a new host) then replays the live state and recent tombstones, not a segment of history.
    return compacted.has(key) ? { 'cleanup.policy': 'compact', 'segment.ms': '3600000' } : undefined
  }
  // The registry's writes are ordered by one partition, whatever --partitions says.
  const partitions = (key: keyof TopicNames) => (key === 'schemas' ? 1 : config.partitions)
  return (Object.keys(names) as Array<keyof TopicNames>)
    .filter((key) => config.roles.includes('audit') || !audit.has(names[key]))
    .map((key) => ({ name: names[key], partitions: partitions(key), ...(settings(key) ? { config: settings(key) } : {}) }))
}

/**
 * The event each event topic carries, one per topic: its values' schema subject is `<topic>-value`
 * (Confluent's TopicNameStrategy). Changelogs, the idempotency keys and the dead-letter topic carry
 * no events of their own (state, bookkeeping, and records as they were).
 */
export function eventTopics(t: TopicNames): Array<[topic: string, event: EventType]> {
  return [
    [t.ordersCreated, events.orderCreated],
    [t.inventoryRequests, events.inventoryRequest],
    [t.lineResults, events.lineResult],
    [t.reserved, events.orderReserved],
    [t.failed, events.orderFailed],
    [t.orderStatus, events.orderStatus],
    [t.cancelRequests, events.cancelRequest],
    [t.paymentRequests, events.paymentRequest],
    [t.paymentProcessed, events.paymentProcessed],
    [t.paymentFailed, events.paymentFailed],
    [t.paymentRefunded, events.paymentRefunded],
    [t.warehouseRequests, events.packRequest],
    [t.packed, events.orderPacked],
    [t.shippingRequests, events.shipRequest],
    [t.shipped, events.orderShipped],
    [t.notificationRequests, events.notificationRequest],
    [t.aggregatorPartials, events.windowPartial],
    [t.orderRate, events.orderRate],
  ]
}

/**
 * The facts the audit role exports, each with its audit topic: what customers asked (orders,
 * cancellations) and every outcome of an order's life. Commands between roles (*.requests,
 * line results) and derived data (rates, changelogs) are not audited.
 */
export function auditedTopics(t: TopicNames): Array<[fact: string, audit: string]> {
  return [
    [t.ordersCreated, t.auditOrdersCreated],
    [t.cancelRequests, t.auditCancelRequests],
    [t.reserved, t.auditReserved],
    [t.failed, t.auditFailed],
    [t.orderStatus, t.auditOrderStatus],
    [t.paymentProcessed, t.auditPaymentProcessed],
    [t.paymentFailed, t.auditPaymentFailed],
    [t.paymentRefunded, t.auditPaymentRefunded],
    [t.packed, t.auditPacked],
    [t.shipped, t.auditShipped],
  ]
}

/** The consumer group of a consuming role (also the prefix of its transactional ids). */
export const groupName = (prefix: string, role: string) => `${prefix}shop-${role}`
