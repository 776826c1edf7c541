import { events } from '../../../schemas/events.ts'
import type { OrderRateWindow, WindowPartial } from '../../../schemas/rate.ts'
import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { InvalidEventError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { Expiring } from '../../state/changelog-store.ts'
import { type TopicNames, topology } from '../../topology.ts'
import type { StepContext, StepHandler } from '../runtime/transactional/types.ts'
import { windowKey, windowMs } from './windows.ts'

/** A window's sums. Kept for the deduplication window once final, so that late records are counted against it. */
interface WindowState extends Expiring {
  orders: number
  confirmed: number
  failed: number
  /** By currency. */
  revenueCents: Record<string, number>
  late: number
  final: boolean
}

/** How far one source partition has come, as its partials, ticks and idles tell. */
interface SourceTime {
  at: number
  idle: boolean
}

const store = 'windows'
/** The watermark: windows closing at or before it are final (the key's name is older than the watermark). */
const watermarkKey = '~stream-time'
const sourceKey = (source: number) => `~source:${source}`
/** The starts of the windows this partition owns that are not final yet. */
const openKey = '~open'

export interface WindowOwnerOptions {
  topics: TopicNames
  /** How long past its end, in event time, a window takes records (`--aggregator-grace-ms`). */
  graceMs: number
  /** The partitions of the source topics: every one of them must pass a window before it closes. */
  sources: number
  metrics: Metrics
  logger: Logger
  source?: string
}

/**
 * The aggregator's second stage, one actor per partition of the repartition topic: the single
 * owner of each window whose key hashes to its partition. It sums the partial counts of every
 * source partition into the window and writes the window to `metrics.order.rate` as it changes.
 *
 * Windows close on a watermark, as in Flink: the smallest stream time among the source partitions
 * that are not idle (the largest of all when every one is idle). A source partition that stops, its
 * aggregator killed or its partition moving, holds every window open until it reads again, so a
 * crash makes no record late; an idle one (nothing to read) holds nothing. Once the watermark
 * passes a window's end plus the grace period, the window is written a last time with
 * `final: true`. A partial for a final window is late: the records it sums are counted in the
 * window's `late` (and `shop_aggregator_late_records_total`) and logged, never added.
 */
export function windowOwnerHandler(options: WindowOwnerOptions): StepHandler {
  const { topics, graceMs, sources, metrics, logger } = options
  const source = options.source ?? 'shop/aggregator'
  metrics.lateRecords.inc(0)

  const publish = (ctx: StepContext, start: number, state: WindowState) => {
    const window: OrderRateWindow = {
      windowStart: windowKey(start),
      windowEnd: windowKey(start + windowMs),
      orders: state.orders,
      confirmed: state.confirmed,
      failed: state.failed,
      revenue: Object.fromEntries(Object.entries(state.revenueCents).map(([currency, cents]) => [currency, cents / 100])),
      late: state.late,
      final: state.final,
    }
    ctx.send(eventRecord(topics.orderRate, events.orderRate, window, source))
  }
  const closes = (start: number) => start + windowMs + graceMs

  const add = (ctx: StepContext, p: WindowPartial) => {
    const start = Date.parse(p.windowStart)
    if (!Number.isFinite(start) || start % windowMs !== 0) throw new InvalidEventError(`windowStart ${JSON.stringify(p.windowStart)} is not the start of a minute`)
    const now = ctx.get<{ at: number }>(store, watermarkKey)?.at ?? 0
    const state = ctx.get<WindowState>(store, p.windowStart)
    if (state?.final || closes(start) <= now) {
      // A partial sums a batch of its source's records: each of them is late.
      const records = p.orders + p.confirmed + p.failed
      if (state) {
        const counted = { ...state, late: state.late + records }
        ctx.put(store, p.windowStart, counted)
        publish(ctx, start, counted)
      }
      ctx.afterCommit(() => {
        metrics.lateRecords.inc(records)
        logger.warn({ event: 'aggregator:late', window: p.windowStart, eventTime: new Date(p.eventTime).toISOString(), streamTime: new Date(now).toISOString(), graceMs, partial: p }, 'a record reached its window after the window was final')
      })
      return
    }
    const was: WindowState = state ?? { orders: 0, confirmed: 0, failed: 0, revenueCents: {}, late: 0, final: false }
    const revenueCents = p.revenueCents === 0 ? was.revenueCents : { ...was.revenueCents, [p.currency]: (was.revenueCents[p.currency] ?? 0) + p.revenueCents }
    const next: WindowState = { ...was, orders: was.orders + p.orders, confirmed: was.confirmed + p.confirmed, failed: was.failed + p.failed, revenueCents }
    ctx.put(store, p.windowStart, next)
    if (!state) ctx.put(store, openKey, { starts: [...openStarts(ctx), start] })
    publish(ctx, start, next)
  }

  /** Records how far `p`'s source has come, and closes what the watermark then passes. */
  const heard = (ctx: StepContext, p: WindowPartial) => {
    if (p.source === undefined) return
    if (p.source >= sources) throw new InvalidEventError(`source partition ${p.source} is beyond the ${sources} partitions of the source topics`)
    const was = ctx.get<SourceTime>(store, sourceKey(p.source))
    const at = Math.max(was?.at ?? 0, p.eventTime)
    const idle = p.kind === 'idle'
    // Nothing new of this source: the watermark cannot have moved.
    if (was && was.at === at && was.idle === idle) return
    ctx.put<SourceTime>(store, sourceKey(p.source), { at, idle })
    advance(ctx, watermark(ctx))
  }

  const watermark = (ctx: StepContext) => {
    let active = Number.POSITIVE_INFINITY
    let latest = 0
    for (let s = 0; s < sources; s++) {
      const source = ctx.get<SourceTime>(store, sourceKey(s)) ?? { at: 0, idle: false }
      if (!source.idle) active = Math.min(active, source.at)
      latest = Math.max(latest, source.at)
    }
    return active === Number.POSITIVE_INFINITY ? latest : active
  }

  /** Moves the watermark to `at` (if later) and finalises the windows it closes. */
  const advance = (ctx: StepContext, at: number) => {
    const now = ctx.get<{ at: number }>(store, watermarkKey)?.at ?? 0
    if (at <= now) return
    ctx.put(store, watermarkKey, { at })
    const open = openStarts(ctx)
    const closing = open.filter((start) => closes(start) <= at)
    if (closing.length === 0) return
    for (const start of closing.sort((a, b) => a - b)) {
      const state = ctx.get<WindowState>(store, windowKey(start))!
      const final: WindowState = { ...state, final: true, doneAt: Date.now() }
      ctx.put(store, windowKey(start), final)
      publish(ctx, start, final)
    }
    ctx.put(store, openKey, { starts: open.filter((start) => closes(start) > at) })
  }

  return {
    stores: topology(topics)['aggregator-windows'].stores,
    // A window is written as it changes; within a transaction only its last value counts.
    tables: [topics.orderRate],
    handle(record, ctx) {
      if (record.topic !== topics.aggregatorPartials) throw new InvalidEventError(`the window owner does not read ${record.topic}`)
      const partial = decodeEvent(events.windowPartial, record)
      if (partial.kind === 'count') add(ctx, partial)
      heard(ctx, partial)
    },
  }
}

const openStarts = (ctx: StepContext): number[] => ctx.get<{ starts: number[] }>(store, openKey)?.starts ?? []
