import { createActorSystem } from './actors/runtime/supervisor.ts'
import { createHttpApp } from './api/app.ts'
import type { Config } from './config/options.ts'
import type { EscalationError } from './errors.ts'
import { createLog, type Log } from './kafka/index.ts'
import type { Logger } from './log.ts'
import { roles as roleFactories } from './roles.ts'
import type { Readiness } from './api/health/readiness.ts'
import type { Role } from './actors/runtime/role.ts'
import { withDeadline } from './time.ts'
import { topicNames, topicSpecs } from './topology.ts'

export interface ShopOptions {
  config: Config
  logger: Logger
  /** What a supervisor escalation at the top means; the binary exits non-zero. */
  onEscalate: (error: EscalationError) => void
  /** An existing log (tests share an in-memory cluster between processes); made from config otherwise. */
  log?: Log
  /** Where the console sink writes; stdout by default. */
  write?: (line: string) => void
}

/**
 * One shop process: its log client, its roles' actor trees, its HTTP server. The composition root.
 */
export class Shop {
  private constructor(
    readonly config: Config,
    readonly log: Log,
    readonly roles: Role[],
    private readonly http: ReturnType<typeof createHttpApp>,
    private readonly logger: Logger,
    private readonly state: { draining: boolean },
  ) {}

  static async start(options: ShopOptions): Promise<Shop> {
    const { config, logger } = options
    const log = options.log ?? createLog(config, logger)
    const topics = topicNames(config.topicPrefix)
    // Rejects (TopicMismatchError) any existing topic whose partition count is not --partitions,
    // which keeps the co-partitioned topics (orders.created, inventory.line-results) equal.
    await log.admin.ensureTopics(topicSpecs(config))
    const supervisor = createActorSystem(options.onEscalate)
    supervisor.events.onEvent('actor:restart', (e) =>
      logger.warn({ event: 'actor:restart', actor: e.actor, attempt: e.attempt, delayMs: e.delayMs, err: e.error }),
    )
    supervisor.events.onEvent('supervisor:escalate', (e) => logger.error({ event: 'supervisor:escalate', supervisor: e.supervisor, err: e.error }))
    const roles = config.roles.map((name) => roleFactories[name]({ config, log, logger, supervisor, topics, write: options.write }))
    const state = { draining: false }
    const http = createHttpApp({
      readiness: () => roles.map((r) => r.readiness()),
      draining: () => state.draining,
      features: roles.flatMap((r) => (r.http ? [r.http] : [])),
    })
    http.listen({ port: config.httpPort, hostname: config.httpHost })
    const shop = new Shop(config, log, roles, http, logger, state)
    for (const role of roles) await role.start()
    logger.info({ event: 'shop:start', roles: config.roles, bus: config.bus, url: shop.url }, 'shop started')
    return shop
  }

  get url(): string {
    const server = this.http.server!
    return `http://${server.hostname}:${server.port}`
  }

  readiness(): Readiness[] {
    return this.roles.map((r) => r.readiness())
  }

  /**
   * Graceful stop: new requests get 503, actors finish and commit their current batch, consumers
   * leave their groups, clients close. Rejects with TimeoutError past the deadline.
   */
  async stop(deadlineMs = this.config.shutdownTimeoutMs): Promise<void> {
    this.state.draining = true
    this.logger.info({ event: 'shop:stop:begin' }, 'stopping')
    await withDeadline(
      (async () => {
        for (const role of [...this.roles].reverse()) await role.stop()
        await this.log.close()
        await this.http.stop()
      })(),
      deadlineMs,
      'graceful shutdown',
    )
    this.logger.info({ event: 'shop:stop:end' }, 'stopped')
  }
}
