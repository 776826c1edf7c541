import { events } from '../../../schemas/events.ts'
import type { WindowPartial } from '../../../schemas/rate.ts'
import { type OrderCreated, defaultCurrency, toCents } from '../../../schemas/order.ts'
import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { InvalidEventError } from '../../errors.ts'
import type { Expiring } from '../../state/changelog-store.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepContext, StepHandler } from '../runtime/transactional/types.ts'
import { windowKey, windowOf } from './windows.ts'

/** An order the aggregator counted: its event time and total, and its outcome once counted. */
interface CountedOrder extends Expiring {
  at: number
  currency: string
  totalCents: number
  outcome?: Outcome
}

/** An outcome read before its order (two topics of one partition are not read in a fixed order). */
interface EarlyOutcome extends Expiring {
  outcome: Outcome
  totalCents: number
}

type Outcome = 'confirmed' | 'failed'

/** Stream time is sent to every window owner each time it enters a new second of event time. */
const tickMs = 1_000

const orderKey = (orderId: string) => `order:${orderId}`
const earlyKey = (orderId: string) => `outcome-before-order:${orderId}`
const streamTimeKey = '~stream-time'
const store = 'orders'

/**
 * The aggregator's first stage, one actor per partition of the user-keyed topics: it counts each
 * order once (a retried order, published again, is recognised by its orderId) in the minute of
 * its `createdAt` (in either version of the order event), and each outcome in its order's minute.
 * It sums what a batch counts per window and currency, and writes each sum to the repartition
 * topic, keyed by window, as one partial count: a batch of a busy partition writes a record or two
 * where it wrote one per order and one per outcome. It also tells every window owner how far its
 * stream time (the largest order time of its partition) has come, and when its partition has been
 * quiet for `idleMs` (see WindowPartial); the sums counted before a tick are written before it, so
 * an owner sees counts and ticks in the order the records gave them. State and outputs commit with
 * the offsets: a partial is written exactly once.
 */
export function partialsHandler(topics: TopicNames, partitions: number, idleMs: number, source = 'shop/aggregator'): StepHandler {
  type Counts = Pick<WindowPartial, 'orders' | 'confirmed' | 'failed' | 'revenueCents'>
  /** The batch's sums not written yet, by window and currency (the batch scratch: written once the step cannot fail). */
  const sums = (ctx: StepContext) => ctx.batch as Map<string, WindowPartial>
  const partial = (ctx: StepContext, order: CountedOrder, counts: Counts) => {
    const windowStart = windowKey(windowOf(order.at))
    const key = `${windowStart}\n${order.currency}`
    const sum = sums(ctx).get(key)
    if (!sum) {
      sums(ctx).set(key, { kind: 'count', source: ctx.partition, windowStart, eventTime: order.at, currency: order.currency, ...counts })
      return
    }
    sum.orders += counts.orders
    sum.confirmed += counts.confirmed
    sum.failed += counts.failed
    sum.revenueCents += counts.revenueCents
    sum.eventTime = Math.max(sum.eventTime, order.at)
  }
  /** Writes the batch's sums so far. */
  const flush = (ctx: StepContext) => {
    for (const sum of sums(ctx).values()) ctx.send(eventRecord(topics.aggregatorPartials, events.windowPartial, sum, source))
    sums(ctx).clear()
  }
  const outcomeCounts = (outcome: Outcome, totalCents: number): Counts =>
    outcome === 'confirmed' ? { orders: 0, confirmed: 1, failed: 0, revenueCents: totalCents } : { orders: 0, confirmed: 0, failed: 1, revenueCents: 0 }

  const order = (ctx: StepContext, o: OrderCreated) => {
    if (ctx.get(store, orderKey(o.orderId))) return
    const at = Date.parse(o.createdAt)
    if (!Number.isFinite(at)) throw new InvalidEventError(`order ${o.orderId}: createdAt ${JSON.stringify(o.createdAt)} is not a time`)
    const counted: CountedOrder = { at, currency: o.currency, totalCents: toCents(o.total) }
    partial(ctx, counted, { orders: 1, confirmed: 0, failed: 0, revenueCents: 0 })
    const early = ctx.get<EarlyOutcome>(store, earlyKey(o.orderId))
    if (early) {
      ctx.put(store, earlyKey(o.orderId), undefined)
      partial(ctx, counted, outcomeCounts(early.outcome, counted.totalCents))
      Object.assign(counted, { outcome: early.outcome, doneAt: Date.now() })
    }
    ctx.put(store, orderKey(o.orderId), counted)
    advance(ctx, at)
  }

  const outcome = (ctx: StepContext, orderId: string, outcome: Outcome, total: number) => {
    const counted = ctx.get<CountedOrder>(store, orderKey(orderId))
    if (!counted) {
      // Kept for the deduplication window; an order that never comes leaves nothing behind.
      if (!ctx.get(store, earlyKey(orderId))) ctx.put<EarlyOutcome>(store, earlyKey(orderId), { outcome, totalCents: toCents(total), doneAt: Date.now() })
      return
    }
    if (counted.outcome) return
    partial(ctx, counted, outcomeCounts(outcome, counted.totalCents))
    // Done: kept for the deduplication window, so that the order published again is still recognised.
    ctx.put<CountedOrder>(store, orderKey(orderId), { ...counted, outcome, doneAt: Date.now() })
  }

  /** Tells every window owner this partition's stream time (a tick), or that it is idle. */
  const broadcast = (ctx: StepContext, kind: 'tick' | 'idle', at: number) => {
    flush(ctx)
    const payload: WindowPartial = { kind, source: ctx.partition, windowStart: windowKey(windowOf(at)), eventTime: at, orders: 0, confirmed: 0, failed: 0, currency: defaultCurrency, revenueCents: 0 }
    for (let owner = 0; owner < partitions; owner++) ctx.send({ ...eventRecord(topics.aggregatorPartials, events.windowPartial, payload, source), partition: owner })
  }

  const advance = (ctx: StepContext, at: number) => {
    const was = streamTime(ctx)
    if (at <= was) return
    ctx.put(store, streamTimeKey, { at })
    if (Math.floor(at / tickMs) !== Math.floor(was / tickMs)) broadcast(ctx, 'tick', at)
  }
  const streamTime = (ctx: StepContext) => ctx.get<{ at: number }>(store, streamTimeKey)?.at ?? 0

  return {
    stores: topology(topics).aggregator.stores,
    idle: { afterMs: idleMs, handle: (ctx) => broadcast(ctx, 'idle', streamTime(ctx)) },
    endBatch: flush,
    handle(record, ctx) {
      if (record.topic === topics.ordersCreated) return order(ctx, decodeEvent(events.orderCreated, record) as OrderCreated)
      if (record.topic === topics.reserved) {
        const reserved = decodeEvent(events.orderReserved, record)
        return outcome(ctx, reserved.orderId, 'confirmed', reserved.total)
      }
      if (record.topic === topics.failed) {
        const failed = decodeEvent(events.orderFailed, record)
        return outcome(ctx, failed.orderId, 'failed', failed.total)
      }
      throw new InvalidEventError(`the aggregator does not read ${record.topic}`)
    },
  }
}
