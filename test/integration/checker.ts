import type { Reservation } from '../../src/actors/inventory/handler.ts'
import { jsonOf } from '../../src/events/envelope.ts'
import type { Log } from '../../src/kafka/port.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import type { ConsumedRecord } from '../../src/kafka/types.ts'
import { type GroupName, type TopicNames, groupName, topicNames, topology } from '../../src/topology.ts'
import { toldStatuses } from '../../src/actors/notifier/handler.ts'
import { finalStatuses, type OrderStatusChanged } from '../../schemas/lifecycle.ts'
import type { OrderCreatedV1 } from '../../schemas/order.ts'
import type { InventoryRequest, StockLevel } from '../../schemas/inventory.ts'
import { eventually } from '../harness/eventually.ts'
import type { LoadResult } from './load.ts'
import { sleep } from '../../src/time.ts'

export interface CheckReport {
  /** Distinct orders on orders.created. */
  orders: number
  confirmed: number
  failed: number
  /** orders.created records that repeat an order already there (retries, recognised by the OrderActor). */
  republished: number
  /** Notifications printed more than once (at-least-once delivery; receivers dedupe by id). */
  repeatedNotifications: number
  /** Every violated invariant, in words; empty when the run was correct. */
  problems: string[]
}

export interface CheckOptions {
  prefix: string
  /** What the clients saw. */
  load: LoadResult
  /** Console notifications printed by every notifier process of the run (read once the pipeline is idle). */
  notifications: () => Array<{ orderId: string; status: string }>
  /** How long the pipeline may take to become idle. */
  idleWithinMs?: number
  /** The consuming groups deployed, whose lag must reach zero (default: order, inventory, notifier). */
  groups?: GroupName[]
  /** Every order ran its whole life (payment, warehouse, shipper, projector deployed): check it. */
  lifecycle?: LifecycleCheck
}

export interface LifecycleCheck {
  /** What the payment provider performed, by idempotency key (`charge:<orderId>`, `refund:<orderId>`): amount. */
  performed: ReadonlyMap<string, number>
  /** An api process whose read model the projector fills. */
  apiUrl: string
}

const coreGroups: readonly GroupName[] = ['order', 'inventory', 'notifier']

const parse = <T>(records: ConsumedRecord[]) => records.map((r) => JSON.parse(jsonOf(r.value!)) as T)
const byPosition = (a: ConsumedRecord, b: ConsumedRecord) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0)

/**
 * Records in each consuming group's topics that it has not committed past; 0 for every group when
 * idle. Counted by reading from the committed offset (end minus committed would count the
 * transaction markers after a partition's last record, which no consumer ever commits past).
 */
async function lag(log: Log, prefix: string, groups: readonly GroupName[]): Promise<Map<string, number>> {
  const t = topicNames(prefix)
  const result = new Map<string, number>()
  for (const role of groups) {
    const committed = await log.admin.committedOffsets(groupName(prefix, role))
    let behind = 0
    for (const topic of topology(t)[role].reads) {
      const ends = await log.admin.endOffsets(topic)
      const from = ends.map((_, partition) => ({ topic, partition, offset: committed.find((c) => c.topic === topic && c.partition === partition)?.offset ?? 0n }))
      const pending = from.filter((p, partition) => p.offset < ends[partition])
      if (pending.length === 0) continue
      for (const read of await log.read(pending)) behind += read.records.length
    }
    result.set(role, behind)
  }
  return result
}

/** Waits until every group's lag is zero at two reads a second apart (nothing in flight between them). */
export async function waitUntilIdle(log: Log, prefix: string, ms: number, groups: readonly GroupName[] = coreGroups): Promise<void> {
  await eventually(async () => {
    const first = await lag(log, prefix, groups)
    await sleep(1_000)
    const second = await lag(log, prefix, groups)
    const busy = [...first, ...second].filter(([, n]) => n > 0)
    if (busy.length > 0) throw new Error(`pipeline not idle within ${ms} ms: ${busy.map(([g, n]) => `${g} ${n}`).join(', ')}`)
  }, ms, 500)
}

/**
 * Waits until the pipeline is idle, then reads every topic read_committed once and checks
 * ARCHITECTURE.md's invariants against what the clients saw:
 * 1. the run placed orders; every order id on orders.created names one order (a repeat has the
 *    same body), and every order there has exactly one outcome; no outcome without an order;
 * 2. every id answered 202 is there; no id answered "not published" (503 SHOP_UNAVAILABLE or
 *    NOT_READY) is there; ids with no certain answer are there at most once (by 1);
 * 3. stock: replaying inventory.requests in each partition's order with the InventoryActor's rules
 *    (set, reserve when enough is available, release, ship) gives exactly the levels and
 *    reservations the changelogs hold; no level was ever negative; every line of a confirmed
 *    order is reserved or shipped, and no line of a failed order is still held;
 * 4. each status the customer is told of (on order.status, without a note) was notified at least
 *    once on the console, and recorded as notified exactly once; repeats are counted (the test
 *    decides how many its scenario allows);
 * 5. nothing went to the dead-letter topic;
 * 6. with `lifecycle`, see `checkLifecycle`.
 */
export async function checkInvariants(log: Log, options: CheckOptions): Promise<CheckReport> {
  await waitUntilIdle(log, options.prefix, options.idleWithinMs ?? 120_000, options.groups)
  const topics: TopicNames = topicNames(options.prefix)
  const problems: string[] = []

  const orders = new Map<string, OrderCreatedV1>()
  let republished = 0
  for (const order of parse<OrderCreatedV1>(await readTopic(log, topics.ordersCreated))) {
    const first = orders.get(order.orderId)
    if (!first) orders.set(order.orderId, order)
    else if (JSON.stringify([first.userId, first.items, first.total]) !== JSON.stringify([order.userId, order.items, order.total])) {
      problems.push(`order id ${order.orderId} names two different orders`)
    } else republished++
  }
  if (orders.size === 0) problems.push('the run placed no order')
  const statuses = parse<OrderStatusChanged>(await readTopic(log, topics.orderStatus))
  const stepsOf = new Map<string, string[]>()
  for (const s of statuses) if (s.note === undefined) stepsOf.set(s.orderId, [...(stepsOf.get(s.orderId) ?? []), s.status])
  const cancelledPending = new Set([...stepsOf].filter(([, steps]) => steps.join() === 'pending,cancelled').map(([id]) => id))
  const outcomes = new Map<string, string[]>()
  for (const [topic, outcome] of [[topics.reserved, 'reserved'], [topics.failed, 'failed']] as const) {
    for (const { orderId } of parse<{ orderId: string }>(await readTopic(log, topic))) outcomes.set(orderId, [...(outcomes.get(orderId) ?? []), outcome])
  }
  for (const orderId of orders.keys()) {
    const seen = outcomes.get(orderId) ?? []
    // A cancel taken while the lines were still being reserved ends the order without an outcome.
    if (seen.length !== 1 && !(seen.length === 0 && cancelledPending.has(orderId))) problems.push(`order ${orderId} has ${seen.length} outcomes (${seen.join(', ')})`)
  }
  for (const orderId of outcomes.keys()) if (!orders.has(orderId)) problems.push(`outcome for unknown order ${orderId}`)
  for (const id of options.load.accepted) if (!orders.has(id)) problems.push(`order ${id} was answered 202 but is not on orders.created`)
  for (const id of options.load.refused) if (orders.has(id)) problems.push(`order ${id} was refused as not published, yet it was published`)
  const confirmed = [...orders.values()].filter((o) => outcomes.get(o.orderId)?.[0] === 'reserved')
  const failed = [...orders.values()].filter((o) => outcomes.get(o.orderId)?.[0] === 'failed')

  // 3. The InventoryActor's rules replayed over its input, partition by partition.
  const requests = await readTopic(log, topics.inventoryRequests)
  const model = { stock: new Map<string, StockLevel>(), reservations: new Map<string, Reservation>() }
  const level = (sku: string) => model.stock.get(sku) ?? { sku, available: 0, reserved: 0 }
  for (const partition of new Set(requests.map((r) => r.partition))) {
    for (const record of requests.filter((r) => r.partition === partition).sort(byPosition)) {
      const request = JSON.parse(jsonOf(record.value!)) as InventoryRequest
      if (request.type === 'set') model.stock.set(request.sku, { ...level(request.sku), available: request.quantity })
      else if (request.type === 'reserve') {
        const key = `${request.orderId}/${request.line}`
        if (model.reservations.has(key)) continue
        const s = level(request.sku)
        const ok = s.available >= request.quantity
        if (ok) model.stock.set(request.sku, { ...s, available: s.available - request.quantity, reserved: s.reserved + request.quantity })
        model.reservations.set(key, { sku: request.sku, quantity: request.quantity, status: ok ? 'reserved' : 'short', available: level(request.sku).available })
      } else {
        const key = `${request.orderId}/${request.line}`
        const held = model.reservations.get(key)
        if (held?.status !== 'reserved') continue
        const s = level(held.sku)
        const back = request.type === 'release' ? held.quantity : 0
        model.stock.set(held.sku, { ...s, available: s.available + back, reserved: s.reserved - held.quantity })
        model.reservations.set(key, { ...held, status: request.type === 'release' ? 'released' : 'shipped' })
      }
    }
  }
  const levels = new Map<string, StockLevel>()
  for (const stock of parse<StockLevel>(await readTopic(log, topics.stock))) {
    if (stock.available < 0 || stock.reserved < 0) problems.push(`stock of ${stock.sku} went negative: ${JSON.stringify(stock)}`)
    levels.set(stock.sku, stock)
  }
  for (const [sku, expected] of model.stock) {
    const actual = levels.get(sku)
    if (actual?.available !== expected.available || actual?.reserved !== expected.reserved) {
      problems.push(`${sku}: the changelog holds ${JSON.stringify(actual)}, replaying inventory.requests gives ${JSON.stringify(expected)}`)
    }
  }
  const reservations = new Map<string, Reservation>()
  for (const record of await readTopic(log, topics.reservations)) {
    if (record.value === null) reservations.delete(record.key!)
    else reservations.set(record.key!, JSON.parse(jsonOf(record.value!)))
  }
  for (const order of confirmed) {
    order.items.forEach((_, line) => {
      const status = reservations.get(`${order.orderId}/${line}`)?.status
      // Released later when the payment failed or the order was cancelled (checkLifecycle checks which).
      if (status !== 'reserved' && status !== 'shipped' && status !== 'released') problems.push(`confirmed order ${order.orderId} has line ${line} ${status ?? 'undecided'}`)
    })
  }
  for (const order of failed) {
    order.items.forEach((_, line) => {
      if (reservations.get(`${order.orderId}/${line}`)?.status === 'reserved') problems.push(`failed order ${order.orderId} still holds line ${line}`)
    })
  }
  for (const [key, reservation] of reservations) {
    if (reservation.status !== model.reservations.get(key)?.status) problems.push(`reservation ${key} is ${reservation.status}, replaying gives ${model.reservations.get(key)?.status}`)
  }

  // 4. Notifications: at least once, recorded once; repeats counted.
  const printed = new Map<string, number>()
  for (const n of options.notifications()) printed.set(`${n.orderId}/${n.status}`, (printed.get(`${n.orderId}/${n.status}`) ?? 0) + 1)
  const committed = new Map<string, number>()
  for (const record of await readTopic(log, topics.notified)) if (record.value !== null) committed.set(record.key!, (committed.get(record.key!) ?? 0) + 1)
  const expected = new Set(statuses.filter((s) => s.note === undefined && toldStatuses.has(s.status)).map((s) => `${s.orderId}/${s.status}`))
  for (const id of expected) {
    if (!printed.get(id)) problems.push(`${id} was never printed`)
    if (committed.get(`${id}/console`) !== 1) problems.push(`${id} is recorded ${committed.get(`${id}/console`) ?? 0} times as notified`)
  }
  for (const id of printed.keys()) if (!expected.has(id)) problems.push(`notification ${id} for no status change`)
  const repeatedNotifications = [...printed.values()].reduce((n, count) => n + count - 1, 0)

  if (options.lifecycle) problems.push(...(await checkLifecycle(log, topics, [...orders.values()], statuses, reservations, options.lifecycle)))

  const dead = await readTopic(log, topics.deadLetter)
  if (dead.length > 0) problems.push(`${dead.length} records in the dead-letter topic: ${dead[0].headers['shop.dlq.error']}`)
  return { orders: orders.size, confirmed: confirmed.length, failed: failed.length, republished, repeatedNotifications, problems }
}

/**
 * An order's whole life, once the pipeline is idle:
 * - every order reached exactly one final status, as the last of its statuses, and no status twice;
 * - the provider's records: an order is charged (`charge:<id>` performed) exactly when it has one
 *   payment.processed; a shipped order is charged and not refunded; a cancelled one is refunded
 *   if charged; a declined or out-of-stock one was never charged; a refund only of a charge, at
 *   the charged amount;
 * - stock: no line is still held; each reserved line was shipped or released with its order's end;
 * - the read model (through the api's GET /orders/{id}) holds each order's last status and its
 *   whole history, as on order.status.
 */
async function checkLifecycle(
  log: Log,
  topics: TopicNames,
  orders: OrderCreatedV1[],
  statuses: OrderStatusChanged[],
  reservations: Map<string, Reservation>,
  check: LifecycleCheck,
): Promise<string[]> {
  const problems: string[] = []
  const history = new Map<string, OrderStatusChanged[]>()
  for (const s of statuses) history.set(s.orderId, [...(history.get(s.orderId) ?? []), s])
  const processed = new Map<string, number>()
  for (const p of parse<{ orderId: string }>(await readTopic(log, topics.paymentProcessed))) processed.set(p.orderId, (processed.get(p.orderId) ?? 0) + 1)
  for (const order of orders) {
    const id = order.orderId
    const steps = (history.get(id) ?? []).filter((s) => s.note === undefined).map((s) => s.status)
    const final = steps.filter((s) => finalStatuses.has(s))
    if (final.length !== 1 || steps.at(-1) !== final[0]) problems.push(`order ${id} went ${steps.join(' > ')}: not exactly one final status, last`)
    if (new Set(steps).size !== steps.length) problems.push(`order ${id} went ${steps.join(' > ')}: a status twice`)
    const charged = check.performed.get(`charge:${id}`)
    const refunded = check.performed.get(`refund:${id}`)
    if ((charged !== undefined ? 1 : 0) !== (processed.get(id) ?? 0)) problems.push(`order ${id}: the provider charged ${charged ?? 'nothing'}, payment.processed says so ${processed.get(id) ?? 0} times`)
    if (charged !== undefined && charged !== order.total) problems.push(`order ${id} was charged ${charged}, its total is ${order.total}`)
    if (refunded !== undefined && refunded !== charged) problems.push(`order ${id} was refunded ${refunded} of a charge of ${charged ?? 'nothing'}`)
    const end = final[0]
    if (end === 'shipped' && (charged === undefined || refunded !== undefined)) problems.push(`shipped order ${id}: charged ${charged ?? 'nothing'}, refunded ${refunded ?? 'nothing'}`)
    if (end === 'cancelled' && charged !== undefined && refunded === undefined) problems.push(`cancelled order ${id} was charged and never refunded`)
    if ((end === 'payment_failed' || end === 'out_of_stock') && charged !== undefined) problems.push(`${end} order ${id} was charged`)
    order.items.forEach((_, line) => {
      const held = reservations.get(`${id}/${line}`)?.status
      if (held === 'reserved') problems.push(`order ${id} ended ${end} and still holds line ${line}`)
      if (held === 'shipped' && end !== 'shipped') problems.push(`order ${id} ended ${end}, yet line ${line} shipped`)
      if (end === 'shipped' && held !== 'shipped') problems.push(`order ${id} shipped, yet line ${line} is ${held ?? 'undecided'}`)
    })
  }
  for (const order of orders) {
    const response = await fetch(`${check.apiUrl}/orders/${order.orderId}`)
    const view = (await response.json()) as { status: string; history: Array<{ status: string; note?: string }> }
    const topic = history.get(order.orderId) ?? []
    const seen = view.history?.map((h) => `${h.status}${h.note ? ` (${h.note})` : ''}`) ?? []
    const expected = topic.map((h) => `${h.status}${h.note ? ` (${h.note})` : ''}`)
    if (response.status !== 200 || view.status !== topic.filter((s) => s.note === undefined).at(-1)?.status || JSON.stringify(seen) !== JSON.stringify(expected)) {
      problems.push(`the read model shows ${order.orderId} ${response.status} ${view.status}: ${seen.join(' > ')}; order.status has ${expected.join(' > ')}`)
    }
  }
  return problems
}
