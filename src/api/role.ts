import { randomUUID } from 'node:crypto'
import { Elysia } from 'elysia'
import type { StockLevel } from '../../schemas/inventory.ts'
import { type IdempotencyEntry, OrderIntake } from './orders/intake.ts'
import { orderRoutes } from './orders/index.ts'
import { OrderQueries } from './orders/queries.ts'
import { TransactionalPublisher } from './orders/publisher.ts'
import { stockRoutes } from './stock/index.ts'
import { adminCheck } from './admin.ts'
import { analyticsRoutes, orderRateView } from './analytics/index.ts'
import { consoleRoutes } from './console/index.ts'
import { DeadLetterDesk } from './console/dead-letters.ts'
import { OrderFeed } from './console/feed.ts'
import { ProcessHeartbeat } from '../../schemas/console.ts'
import { compiledSchema } from '../events/check.ts'
import { stockLevelOf } from './stock/service.ts'
import { NotReadyError } from '../errors.ts'
import type { Log } from '../kafka/port.ts'
import { TopicView } from '../state/topic-view.ts'
import { sleep } from '../time.ts'
import { groupName } from '../topology.ts'
import { partitionLag } from '../observability/lag.ts'
import type { Role, RoleContext } from '../actors/runtime/role.ts'

/** How often the api samples the order group's backlog (admission control). */
const backlogEveryMs = 2_000

/**
 * The api role: order intake, stock and analytics endpoints. It reads three compacted topics into
 * views (every api process holds all of each): the stock changelog for `GET /stock`, the
 * idempotency keys that every api process writes, and `metrics.order.rate` for
 * `GET /analytics/order-rate`. Orders are published in transactions of this process's own
 * transactional id (a fresh one per process).
 */
export function apiRole(ctx: RoleContext): Role {
  const { log, logger, topics, config } = ctx
  const producer = log.producer({ clientId: 'shop-api' })
  const publisher = new TransactionalPublisher({
    producer: log.transactionalProducer({ transactionalId: `${groupName(config.topicPrefix, 'api')}-${randomUUID()}` }),
    logger,
    metrics: ctx.metrics,
    maxBatchRecords: config.batchMaxRecords,
    commitIntervalMs: config.apiCommitIntervalMs,
    commitRecords: config.apiCommitRecords,
  })
  const orderRate = orderRateView(log, logger, topics.orderRate)
  const stock = new TopicView<StockLevel>({ log, logger, topic: topics.stock, decode: (r) => stockLevelOf(r.value) })
  const keys = new TopicView<IdempotencyEntry>({
    log,
    logger,
    topic: topics.idempotencyKeys,
    decode: (r) => (r.value === null ? undefined : (JSON.parse(r.value.toString()) as IdempotencyEntry)),
    expired: (entry) => Date.now() - entry.at >= config.idempotencyTtlMs,
    index: (entry) => entry.answer.orderId,
  })
  // The console's sources: order.status as it is committed, the dead letters, every process's beat.
  const feed = new OrderFeed({ log, logger, topic: topics.orderStatus })
  const deadLetters = new DeadLetterDesk({ log, logger, topics, topicPrefix: config.topicPrefix })
  const processes = new TopicView<ProcessHeartbeat>({
    log,
    logger,
    topic: topics.processes,
    decode: (r) => decodeHeartbeat(r.value),
    // A process silent this long is gone (killed without its tombstone): the console forgets it.
    expired: (p) => Date.now() - Date.parse(p.at) > forgetSilentMs,
  })
  const views = [stock, keys, orderRate, feed, deadLetters, processes]
  let backlog: number | null = null
  const intake = new OrderIntake({
    publisher,
    topics,
    keys,
    maxInFlight: config.producerMaxInFlight,
    acceptTimeoutMs: config.acceptTimeoutMs,
    idempotencyTtlMs: config.idempotencyTtlMs,
    backlog: () => backlog,
    maxBacklog: config.maxOrderBacklog,
    orderSchemaVersion: config.orderSchemaVersion,
    metrics: ctx.metrics,
  })
  let started = false
  let stopping = false
  let sampling: Promise<void> | undefined
  const stopped = Promise.withResolvers<void>()
  const readiness = () => {
    if (stopping) return { ready: false as const, reason: 'api: stopping' }
    if (!started || views.some((v) => !v.caughtUp)) return { ready: false as const, reason: 'api: catching up with the stock, idempotency, order-rate, status, dead-letter and process topics' }
    if (!publisher.available) return { ready: false as const, reason: 'api: the broker is not reachable' }
    return { ready: true as const }
  }
  const ready = () => {
    const r = readiness()
    // Not ready because the broker is away: the publisher itself answers (it probes the broker
    // with the next order once the failed transaction settled).
    if (!r.ready && publisher.available) throw new NotReadyError(r.reason)
  }
  const admin = adminCheck(config.adminToken)
  const operatorConsole = consoleRoutes({ feed, deadLetters, stock, processes, metrics: ctx.metrics, admin, ready, logger })
  return {
    name: 'api',
    http: new Elysia({ name: 'shop:api' })
      .use(orderRoutes(intake, new OrderQueries(ctx.readModel, intake), ready))
      .use(stockRoutes({ producer, topics, view: stock, ready, admin }))
      .use(analyticsRoutes(orderRate, ready))
      .use(operatorConsole.routes),
    async start() {
      try {
        await Promise.all([...views.map((v) => v.start()), publisher.init()])
      } catch (error) {
        // Start may be tried again once the broker is back: leave nothing half-started.
        await Promise.all(views.map((v) => v.stop()))
        throw error
      }
      started = true
      sampling = (async () => {
        while (!stopping) {
          backlog = await orderBacklog(log, topics.ordersCreated, groupName(config.topicPrefix, 'order')).catch(() => null)
          await Promise.race([sleep(backlogEveryMs), stopped.promise])
        }
      })()
    },
    readiness,
    async stop() {
      stopping = true
      stopped.resolve()
      operatorConsole.live.close()
      await Promise.all([...views.map((v) => v.stop()), sampling])
      await Promise.all([producer.close(), publisher.close()])
    },
  }
}

/** How long a silent process stays in the console's list (marked silent) before it is forgotten. */
const forgetSilentMs = 10 * 60_000

function decodeHeartbeat(value: Buffer | null): ProcessHeartbeat | undefined {
  if (value === null) return undefined
  try {
    const beat: unknown = JSON.parse(value.toString())
    return compiledSchema(ProcessHeartbeat).Check(beat) ? beat : undefined
  } catch {
    return undefined
  }
}

/** Records of `topic` the group has not committed past, over the partitions it has committed; null before its first commit. */
async function orderBacklog(log: Log, topic: string, group: string): Promise<number | null> {
  const mine = (await partitionLag(log, group, [topic])).filter((p) => p.committed !== undefined)
  if (mine.length === 0) return null
  return mine.reduce((sum, p) => sum + Math.max(0, Number(p.end - p.committed!)), 0)
}
