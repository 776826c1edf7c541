import { type Static, Type } from '@sinclair/typebox'

const Instant = (description: string) => Type.String({ minLength: 1, description })
const Count = Type.Integer({ minimum: 0 })
/** Money summed in integer cents (a sum of doubles drifts; a sum of cents does not). */
const Cents = Type.Integer({ minimum: 0 })

/**
 * `metrics.order.rate` (compacted, key: windowStart): one tumbling minute of orders by event time
 * (the order's `createdAt`). Rewritten while the window is open, then once with `final: true`
 * when stream time passes its end plus the grace period; again only if a late record arrives
 * (`late` grows, the counts never change once final).
 */
export const OrderRateWindow = Type.Object(
  {
    windowStart: Instant('ISO 8601 UTC, inclusive; the record key'),
    windowEnd: Instant('ISO 8601 UTC, exclusive'),
    orders: Count,
    confirmed: Type.Integer({ minimum: 0, description: 'orders whose stock was reserved (inventory.reserved)' }),
    failed: Type.Integer({ minimum: 0, description: 'orders refused for stock (inventory.failed)' }),
    revenue: Type.Record(Type.String({ pattern: '^[A-Z]{3}$' }), Type.Number({ minimum: 0 }), { description: 'sum of the confirmed orders\' totals by currency (ISO 4217), 2 decimals' }),
    late: Type.Integer({ minimum: 0, description: 'records of this window that arrived after it was final: counted here, not in the counts' }),
    final: Type.Boolean({ description: 'true once the window is closed: its counts no longer change' }),
  },
  { additionalProperties: false },
)
export type OrderRateWindow = Static<typeof OrderRateWindow>

/**
 * The aggregator's repartition topic (key: windowStart). A `count` is what records of one source
 * partition add to a window (a batch's orders and outcomes of that window and currency, summed),
 * sent to the window's owner (the partition its key hashes to), which sums them. A `tick` goes to every partition: how far the source partition's stream time (the
 * largest order time it has read, `eventTime`) has come, so that each owner knows every source's
 * progress, and closes a window once every source has passed it. An `idle` goes to every partition
 * too: the source has had nothing to read for `--aggregator-idle-ms` and holds no window open until
 * it reads again. The windowStart of a tick or an idle is the window of its time.
 */
export const WindowPartial = Type.Object(
  {
    kind: Type.Union([Type.Literal('count'), Type.Literal('tick'), Type.Literal('idle')]),
    source: Type.Optional(Type.Integer({ minimum: 0, description: 'the source partition (of the user-keyed topics) that wrote it; absent in partials written before sources were tracked' })),
    windowStart: Instant('ISO 8601 UTC'),
    eventTime: Type.Integer({ minimum: 0, description: 'the latest createdAt of the orders counted (count) or the source partition\'s stream time (tick, idle), milliseconds since the epoch' }),
    orders: Count,
    confirmed: Count,
    failed: Count,
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'of revenueCents' }),
    revenueCents: Cents,
  },
  { additionalProperties: false },
)
export type WindowPartial = Static<typeof WindowPartial>
