import type { Reservation } from '../../src/actors/inventory/handler.ts'
import type { Log } from '../../src/kafka/port.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import type { ConsumedRecord } from '../../src/kafka/types.ts'
import type { TopicNames } from '../../src/topology.ts'
import type { OrderCreatedV1 } from '../../schemas/order.ts'
import type { StockLevel } from '../../schemas/inventory.ts'

export interface CheckReport {
  orders: number
  confirmed: number
  failed: number
  /** Every violated invariant, in words; empty when the run was correct. */
  problems: string[]
}

const parse = <T>(records: ConsumedRecord[]) => records.map((r) => JSON.parse(r.value.toString()) as T)

/**
 * Reads every topic read_committed and checks ARCHITECTURE.md's invariants:
 * 1. each order in orders.created has exactly one outcome;
 * 2. per SKU, initial - reserved by confirmed orders = available, and no stock level was ever negative
 *    (no restocks happen during these runs);
 * 3. a failed order holds no reservation;
 * 4. each (order, outcome) was notified exactly once per sink (`notifications`: what the console
 *    sinks printed; the notified changelog: what the notifiers committed).
 */
export async function checkInvariants(
  log: Log,
  topics: TopicNames,
  initialStock: Record<string, number>,
  notifications: Array<{ orderId: string; outcome: string }>,
): Promise<CheckReport> {
  const problems: string[] = []
  const orders = new Map(parse<OrderCreatedV1>(await readTopic(log, topics.ordersCreated)).map((o) => [o.orderId, o]))
  const outcomes = new Map<string, string[]>()
  for (const [topic, outcome] of [[topics.reserved, 'reserved'], [topics.failed, 'failed']] as const) {
    for (const { orderId } of parse<{ orderId: string }>(await readTopic(log, topic))) {
      outcomes.set(orderId, [...(outcomes.get(orderId) ?? []), outcome])
    }
  }
  for (const orderId of orders.keys()) {
    const seen = outcomes.get(orderId) ?? []
    if (seen.length !== 1) problems.push(`order ${orderId} has ${seen.length} outcomes (${seen.join(', ')})`)
  }
  for (const orderId of outcomes.keys()) if (!orders.has(orderId)) problems.push(`outcome for unknown order ${orderId}`)
  const confirmed = [...orders.values()].filter((o) => outcomes.get(o.orderId)?.[0] === 'reserved')
  const failed = [...orders.values()].filter((o) => outcomes.get(o.orderId)?.[0] === 'failed')

  const levels = new Map<string, StockLevel>()
  for (const level of parse<StockLevel>(await readTopic(log, topics.stock))) {
    if (level.available < 0 || level.reserved < 0) problems.push(`stock of ${level.sku} went negative: ${JSON.stringify(level)}`)
    levels.set(level.sku, level)
  }
  for (const [sku, initial] of Object.entries(initialStock)) {
    const held = confirmed.flatMap((o) => o.items).filter((i) => i.sku === sku).reduce((n, i) => n + i.quantity, 0)
    const level = levels.get(sku)
    if (!level) {
      problems.push(`no stock level for ${sku}`)
      continue
    }
    if (level.reserved !== held) problems.push(`${sku}: reserved ${level.reserved}, but confirmed orders hold ${held}`)
    if (level.available !== initial - held) problems.push(`${sku}: available ${level.available}, expected ${initial} - ${held}`)
  }

  const reservations = new Map<string, Reservation>()
  for (const record of await readTopic(log, topics.reservations)) reservations.set(record.key!, JSON.parse(record.value.toString()))
  for (const order of failed) {
    order.items.forEach((_, line) => {
      if (reservations.get(`${order.orderId}/${line}`)?.status === 'reserved') problems.push(`failed order ${order.orderId} still holds line ${line}`)
    })
  }

  const printed = new Map<string, number>()
  for (const n of notifications) printed.set(`${n.orderId}/${n.outcome}`, (printed.get(`${n.orderId}/${n.outcome}`) ?? 0) + 1)
  const committed = new Map<string, number>()
  for (const record of await readTopic(log, topics.notified)) committed.set(record.key!, (committed.get(record.key!) ?? 0) + 1)
  for (const order of [...confirmed, ...failed]) {
    const id = `${order.orderId}/${outcomes.get(order.orderId)![0] === 'reserved' ? 'confirmed' : 'out_of_stock'}`
    if (printed.get(id) !== 1) problems.push(`${id} was printed ${printed.get(id) ?? 0} times`)
    if (committed.get(`${id}/console`) !== 1) problems.push(`${id} is recorded ${committed.get(`${id}/console`) ?? 0} times as notified`)
  }
  if (printed.size !== confirmed.length + failed.length) problems.push(`${printed.size} notifications for ${confirmed.length + failed.length} outcomes`)
  const dead = await readTopic(log, topics.deadLetter)
  if (dead.length > 0) problems.push(`${dead.length} records in the dead-letter topic: ${dead[0].headers['shop.dlq.error']}`)
  return { orders: orders.size, confirmed: confirmed.length, failed: failed.length, problems }
}
