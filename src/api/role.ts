import { Elysia } from 'elysia'
import type { StockLevel } from '../../schemas/inventory.ts'
import { type IdempotencyEntry, OrderIntake } from './orders/intake.ts'
import { orderRoutes } from './orders/index.ts'
import { stockRoutes } from './stock/index.ts'
import { stockLevelOf } from './stock/service.ts'
import { NotReadyError } from '../errors.ts'
import { TopicView } from '../state/topic-view.ts'
import type { Role, RoleContext } from '../actors/runtime/role.ts'

/**
 * The api role: order intake and stock endpoints. It reads two compacted topics into views (every
 * api process holds all of both): the stock changelog for `GET /stock`, and the idempotency keys
 * that every api process writes.
 */
export function apiRole(ctx: RoleContext): Role {
  const { log, logger, topics, config } = ctx
  const producer = log.producer({ clientId: 'shop-api' })
  const stock = new TopicView<StockLevel>({ log, logger, topic: topics.stock, decode: (r) => stockLevelOf(r.value) })
  const keys = new TopicView<IdempotencyEntry>({
    log,
    logger,
    topic: topics.idempotencyKeys,
    decode: (r) => JSON.parse(r.value.toString()) as IdempotencyEntry,
  })
  const intake = new OrderIntake({ producer, topics, keys, maxInFlight: config.producerMaxInFlight })
  let started = false
  let stopping = false
  const readiness = () => {
    if (stopping) return { ready: false as const, reason: 'api: stopping' }
    if (!started || !stock.caughtUp || !keys.caughtUp) return { ready: false as const, reason: 'api: catching up with the stock and idempotency topics' }
    return { ready: true as const }
  }
  const ready = () => {
    const r = readiness()
    if (!r.ready) throw new NotReadyError(r.reason)
  }
  return {
    name: 'api',
    http: new Elysia({ name: 'shop:api' }).use(orderRoutes(intake, ready)).use(stockRoutes({ producer, topics, view: stock, ready })),
    async start() {
      await Promise.all([stock.start(), keys.start()])
      started = true
    },
    readiness,
    async stop() {
      stopping = true
      await Promise.all([stock.stop(), keys.stop()])
      await producer.close()
    },
  }
}
