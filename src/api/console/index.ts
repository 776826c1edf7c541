import { Type } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import type { ConsoleState, ProcessHeartbeat } from '../../../schemas/console.ts'
import type { StockLevel } from '../../../schemas/inventory.ts'
import { BadRequestError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { TopicView } from '../../state/topic-view.ts'
import type { AdminCheck } from '../admin.ts'
import type { DeadLetterDesk } from './dead-letters.ts'
import type { OrderFeed } from './feed.ts'
import { LiveStream } from './live-stream.ts'
import html from './assets/index.html' with { type: 'text' }
import script from './assets/console.js' with { type: 'text' }
import styles from './assets/console.css' with { type: 'text' }
import { nowIso } from '../../time.ts'

export interface ConsoleOptions {
  feed: OrderFeed
  deadLetters: DeadLetterDesk
  stock: TopicView<StockLevel>
  processes: TopicView<ProcessHeartbeat>
  /** The process's metrics: the consumer lag the api samples of every group. */
  metrics: Metrics
  /** Staff only: a replay needs the admin token. */
  admin: AdminCheck
  ready: () => void
  logger: Logger
  /** How often `/console/events` sends the state. */
  everyMs?: number
}

/** A text import (`with { type: 'text' }`); Bun's types describe an HTML import as a bundle. */
const page = html as unknown as string

/** SKUs the console lists (in SKU order); the stock endpoints serve every one. */
const maxSkus = 500

/**
 * The operator console at `/console`: one page, its script and styles built into the binary (no
 * file beside it, nothing loaded from elsewhere: the Content-Security-Policy says so), and the
 * state it shows, as JSON (`/console/state`) and as server-sent events (`/console/events`, one
 * state a second). Everything comes from what any api process reads: topics and its metrics, and
 * the read model through `GET /orders/{id}`. Replaying a dead letter needs the admin token.
 */
export function consoleRoutes(options: ConsoleOptions) {
  const { feed, deadLetters, stock, processes, metrics, admin, ready } = options
  const state = async (): Promise<ConsoleState> => ({
    at: nowIso(),
    seconds: feed.seconds(),
    outcomes: feed.outcomes(),
    orders: feed.orders(),
    stock: [...stock.values()].sort((a, b) => a.sku.localeCompare(b.sku)).slice(0, maxSkus),
    lag: await lagByGroup(metrics),
    processes: [...processes.values()]
      .map((p) => ({ ...p, silent: Date.now() - Date.parse(p.at) > 3 * p.everyMs }))
      .sort((a, b) => a.roles.join().localeCompare(b.roles.join()) || a.id.localeCompare(b.id)),
    deadLetters: deadLetters.list(),
  })
  const live = new LiveStream(async () => JSON.stringify(await state()), options.everyMs ?? 1_000, options.logger)
  const asset = (body: string, type: string) => () =>
    new Response(body, { headers: { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': contentSecurityPolicy } })
  return {
    live,
    routes: new Elysia({ name: 'shop:console' })
      .get('/console', asset(page, 'text/html; charset=utf-8'))
      .get('/console/console.js', asset(script, 'text/javascript; charset=utf-8'))
      .get('/console/console.css', asset(styles, 'text/css; charset=utf-8'))
      .get('/console/state', () => {
        ready()
        return state()
      })
      .get('/console/events', () => {
        ready()
        return live.subscribe()
      })
      .post(
        '/console/dead-letters/:partition/:offset/replay',
        ({ params, request }) => {
          admin(request)
          ready()
          if (!/^\d{1,9}$/.test(params.partition)) throw new BadRequestError('partition must be a partition number', [{ path: 'path:partition', message: 'Expected 0 or more' }])
          if (!/^\d{1,19}$/.test(params.offset)) throw new BadRequestError('offset must be a record offset', [{ path: 'path:offset', message: 'Expected 0 or more' }])
          return deadLetters.replay(Number(params.partition), BigInt(params.offset))
        },
        { parse: 'none', params: Type.Object({ partition: Type.String(), offset: Type.String() }) },
      ),
  }
}

/** Only the page's own origin: scripts, styles, the event stream and the API calls. */
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** Records behind per consumer group, summed over its partitions, from the lag gauges this process samples. */
async function lagByGroup(metrics: Metrics): Promise<ConsoleState['lag']> {
  const groups = new Map<string, { lag: number; partitions: number }>()
  for (const { labels, value } of (await metrics.consumerLag.get()).values) {
    const group = String(labels.consumergroup)
    const entry = groups.get(group) ?? { lag: 0, partitions: 0 }
    entry.lag += value
    entry.partitions++
    groups.set(group, entry)
  }
  return [...groups].map(([group, g]) => ({ group, ...g })).sort((a, b) => a.group.localeCompare(b.group))
}
