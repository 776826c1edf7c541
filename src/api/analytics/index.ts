import { type Static, Type } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import type { OrderRatePage } from '../../../schemas/api.ts'
import { events } from '../../../schemas/events.ts'
import type { OrderRateWindow } from '../../../schemas/rate.ts'
import { decodeEvent } from '../../events/envelope.ts'
import { BadRequestError } from '../../errors.ts'
import type { Log } from '../../kafka/port.ts'
import type { Logger } from '../../log.ts'
import { TopicView } from '../../state/topic-view.ts'
import { readQuery } from '../body.ts'

const Instant = Type.String({ minLength: 1, maxLength: 64, description: 'ISO 8601, e.g. 2026-11-21T10:00:00Z' })
export const OrderRateQuery = Type.Object(
  {
    from: Type.Optional({ ...Instant, description: `${Instant.description}; windows starting at or after it (default: \`to\` minus one hour)` }),
    to: Type.Optional({ ...Instant, description: `${Instant.description}; windows starting before it (default: now)` }),
  },
  { additionalProperties: false },
)
export type OrderRateQuery = Static<typeof OrderRateQuery>

/** The widest range one request may ask for: a week of minutes (10,080 windows). */
const maxRangeMs = 7 * 24 * 3_600_000
const defaultRangeMs = 3_600_000

/**
 * `metrics.order.rate` as this process reads it: every window's latest record (the compacted
 * topic's truth), kept current. Records it cannot read are logged and left out, never guessed.
 */
export function orderRateView(log: Log, logger: Logger, topic: string): TopicView<OrderRateWindow> {
  return new TopicView<OrderRateWindow>({
    log,
    logger,
    topic,
    decode: (record) => {
      if (record.value === null) return undefined
      try {
        return decodeEvent(events.orderRate, record)
      } catch (error) {
        logger.warn({ event: 'analytics:unreadable', topic, partition: record.partition, offset: String(record.offset), err: error })
        return undefined
      }
    },
  })
}

/** `GET /analytics/order-rate?from=&to=`: the orders-per-minute windows starting in [from, to), oldest first. */
export function analyticsRoutes(view: TopicView<OrderRateWindow>, ready: () => void) {
  return new Elysia({ name: 'shop:analytics' }).get('/analytics/order-rate', ({ query }) => {
    ready()
    const { from, to } = range(query as Record<string, string | undefined>)
    const windows = [...view.values()].filter((w) => {
      const start = Date.parse(w.windowStart)
      return start >= from && start < to
    })
    windows.sort((a, b) => Date.parse(a.windowStart) - Date.parse(b.windowStart))
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), windows } satisfies OrderRatePage
  })
}

function range(query: Record<string, string | undefined>): { from: number; to: number } {
  const params = readQuery(query, OrderRateQuery)
  const instant = (name: 'from' | 'to', fallback: number) => {
    const text = params[name]
    if (text === undefined) return fallback
    const at = Date.parse(text)
    if (!Number.isFinite(at)) throw new BadRequestError(`bad query: ${name} is not an ISO 8601 time`, [{ path: `query:${name}`, message: 'Expected an ISO 8601 time' }])
    return at
  }
  const to = instant('to', Date.now())
  const from = instant('from', to - defaultRangeMs)
  if (from > to) throw new BadRequestError('bad query: from is after to', [{ path: 'query:from', message: 'Expected a time at or before `to`' }])
  if (to - from > maxRangeMs) throw new BadRequestError('bad query: the range is longer than 7 days', [{ path: 'query:to', message: 'Expected at most 7 days after `from`' }])
  return { from, to }
}
