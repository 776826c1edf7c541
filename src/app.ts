import { createActorSystem } from './actors/runtime/supervisor.ts'
import { createHttpApp } from './api/app.ts'
import type { Config } from './config/options.ts'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RoleName } from './config/options.ts'
import { DataDirError, type EscalationError, isRetryable } from './errors.ts'
import { createLog, type Log } from './kafka/index.ts'
import { openReadModel, readModelTarget } from './read-model/open.ts'
import type { ReadModel } from './read-model/types.ts'
import type { Logger } from './log.ts'
import { roles as roleFactories } from './roles.ts'
import type { Readiness } from './api/health/readiness.ts'
import type { Role } from './actors/runtime/role.ts'
import { backoffDelay, sleep, withDeadline } from './time.ts'
import { eventTopics, groupName, topicNames, topicSpecs } from './topology.ts'
import { HttpSchemaRegistry } from './registry/http-client.ts'
import { EventSerde, serdeLog } from './registry/serde.ts'
import { SchemaStore } from './registry/store.ts'
import { Metrics } from './observability/metrics.ts'
import { LagExporter, lagGroups } from './observability/lag.ts'
import { Heartbeat } from './observability/heartbeat.ts'
import { type Tracing, type TracingSettings, startTracing } from './observability/tracing.ts'
import { type HttpServer, runtime } from './runtime/index.ts'
import { type WorkerIdentity, splitRoles, workerUrlFile, workersRole } from './workers/pool.ts'
import { waitAtStartGate } from './workers/start-gate.ts'

export interface ShopOptions {
  config: Config
  logger: Logger
  /** What a supervisor escalation at the top means; the binary exits non-zero. */
  onEscalate: (error: EscalationError) => void
  /** An existing log (tests share an in-memory cluster between processes); made from config otherwise. */
  log?: Log
  /** Where the console sink writes; stdout by default. */
  write?: (line: string) => void
  /** Exports traces (OTEL_* variables); off when absent. */
  tracing?: TracingSettings
  /** The command-line arguments, which --workers passes on to the worker processes. */
  argv?: string[]
  /** Set when this process is a worker of a supervising one (--workers). */
  worker?: WorkerIdentity
}

/** How long a stop waits for the last spans to be exported (a collector that is down must not hold the exit). */
const traceFlushMs = 3_000

/**
 * One shop process: its log client, its roles' actor trees, its HTTP server. The composition root.
 */
export class Shop {
  private constructor(
    readonly config: Config,
    readonly log: Log,
    readonly roles: Role[],
    private readonly http: HttpServer,
    private readonly logger: Logger,
    private readonly state: { draining: boolean; connected: boolean },
    private readonly metrics: Metrics,
    private readonly lag: LagExporter,
    private readonly closeReadModel: () => Promise<void> | undefined,
    private readonly tracing: Tracing | undefined,
    private readonly closeRegistry: () => Promise<void>,
    private readonly heartbeat: Heartbeat,
  ) {}

  static async start(options: ShopOptions): Promise<Shop> {
    const { config, logger } = options
    if (config.bus === 'kafka' && config.roles.some((r) => statefulRoles.has(r))) checkDataDir(config.dataDir)
    const bus = options.log ?? createLog(config, logger)
    const topics = topicNames(config.topicPrefix)
    // Shop's own registry storage, on the bus; the client is an external registry when one is set.
    const schemaStore = new SchemaStore({ log: bus, logger, topic: topics.schemas, writerId: `${groupName(config.topicPrefix, 'registry')}-writer` })
    const serde = new EventSerde(config.schemaRegistryUrl ? new HttpSchemaRegistry(config.schemaRegistryUrl) : schemaStore)
    const log = serdeLog(bus, serde)
    const metrics = new Metrics()
    const tracing = options.tracing ? startTracing(options.tracing, { metrics, logger, roles: config.roles }) : undefined
    const supervisor = createActorSystem(options.onEscalate)
    supervisor.events.onEvent('actor:restart', (e) => {
      // The actor's kind: its name without the partition.
      metrics.actorRestarts.inc({ actor: e.actor.replace(/-\d+$/, '') })
      logger.warn({ event: 'actor:restart', actor: e.actor, attempt: e.attempt, delayMs: e.delayMs, err: e.error })
    })
    supervisor.events.onEvent('supervisor:escalate', (e) => {
      metrics.escalations.inc()
      logger.error({ event: 'supervisor:escalate', supervisor: e.supervisor, err: e.error })
    })
    let readModel: ReadModel | undefined
    const readModelOf = () => (readModel ??= openReadModel(readModelTarget(config, log.kind)))
    // With --workers the consuming roles run in worker processes, supervised as this process's first role (so stopped last).
    const local = config.workers > 1 ? splitRoles(config.roles).local : config.roles
    const roles: Role[] = [
      ...(config.workers > 1 ? [workersRole({ config, admin: log.admin, argv: options.argv ?? [], logger, metrics, supervisor })] : []),
      ...local.map((name) => roleFactories[name]({ config, log, logger, supervisor, topics, metrics, readModel: readModelOf, write: options.write, schemaStore })),
    ]
    const state = { draining: false, connected: false }
    metrics.onScrape(() => {
      for (const role of roles) metrics.roleReady.set({ role: role.name }, role.readiness().ready ? 1 : 0)
    })
    const readiness = () => [...(state.connected ? [] : [{ ready: false as const, reason: 'waiting for the broker' }]), ...roles.map((r) => r.readiness())]
    // A worker leaves the lag to its supervisor: summed over the processes, one lag would count N times.
    const lag = new LagExporter({ log, metrics, groups: options.worker ? [] : lagGroups(config), logger, everyMs: config.lagSampleMs })
    const http = createHttpApp({
      metrics,
      readiness: () => readiness(),
      draining: () => state.draining,
      features: roles.flatMap((r) => (r.http ? [r.http] : [])),
    })
    // Probes answer from the start (alive, not ready) while the broker is waited for.
    const server = runtime.serveApp(http, { port: config.httpPort, hostname: config.httpHost })
    const closeRegistry = async () => {
      await serde.client.close()
      await schemaStore.close()
    }
    const heartbeat = new Heartbeat({
      log,
      logger,
      topic: topics.processes,
      everyMs: config.heartbeatMs,
      describe: () => {
        const reasons = readiness().flatMap((r) => (r.ready ? [] : [r.reason]))
        return { roles: local, url: shop.url, ready: reasons.length === 0 && !state.draining, reasons: state.draining ? ['shutting down'] : reasons, runtime: runtime.name }
      },
    })
    const shop = new Shop(config, log, roles, server, logger, state, metrics, lag, () => readModel?.close(), tracing, closeRegistry, heartbeat)
    if (options.worker) announceUrl(config.dataDir, shop.url)
    // Rejects (TopicMismatchError) any existing topic whose partition count is not --partitions,
    // which keeps the co-partitioned topics (orders.created, inventory.line-results) equal.
    await untilAvailable('create topics', () => log.admin.ensureTopics(topicSpecs(config)), logger)
    state.connected = true
    // From here the process can say what it is, ready or not (the console lists it while its roles start).
    heartbeat.start()
    // Before anything is written: an incompatible schema change stops the start here (IncompatibleSchemaError).
    await untilAvailable('register event schemas', () => serde.register(eventTopics(topics)), logger)
    // A worker of a tree that starts waits for its siblings here, so that they join together too (StartGate).
    if (options.worker?.gate) await waitAtStartGate(options.worker.gate, options.worker.index, logger)
    // The roles start together: each consuming role joins its group as soon as the process is up,
    // so that processes started together (a --workers tree, a deployment's replicas) reach each
    // group within the broker's group.initial.rebalance.delay.ms of each other and join it in one
    // generation. One after the other, a process's later roles joined while its first role's
    // actors already kept its event loop busy, after the other processes' first join had
    // completed alone: a rebalance at once, its transactions fenced and its state restored again
    // (docs/performance.md, "One generation at start").
    await Promise.all(roles.map((role) => untilAvailable(`start role ${role.name}`, () => role.start(), logger)))
    lag.start()
    // Ready now: say so at once rather than at the next beat.
    await heartbeat.beat().catch(() => {})
    logger.info({ event: 'shop:start', roles: config.roles, bus: config.bus, url: shop.url, runtime: runtime.name }, 'shop started')
    return shop
  }

  get url(): string {
    return `http://${this.http.hostname}:${this.http.port}`
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
        await this.lag.stop()
        await this.heartbeat.stop()
        for (const role of [...this.roles].reverse()) await role.stop()
        await this.closeRegistry()
        await this.log.close()
        await this.closeReadModel()
        await this.http.stop()
      })(),
      deadlineMs,
      'graceful shutdown',
    )
    await this.tracing?.shutdown(traceFlushMs)
    this.logger.info({ event: 'shop:stop:end' }, 'stopped')
  }
}

/** Roles whose actors keep state caches in --data-dir. */
const statefulRoles = new Set<RoleName>(['order', 'inventory', 'notifier', 'projector'])

/** How long start waits between attempts to reach the broker. */
const startRetry = { minMs: 500, maxMs: 10_000, factor: 2 }

/**
 * Runs `step` until it succeeds. A broker that is not reachable yet is an expected condition at
 * start (the process stays alive and not ready, and retries with backoff); any other failure ends
 * the start.
 */
async function untilAvailable<T>(what: string, step: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step()
    } catch (error) {
      if (!isRetryable(error)) throw error
      const delayMs = backoffDelay(startRetry, attempt)
      logger.warn({ event: 'shop:start:retry', what, attempt, delayMs, err: error }, `${what}: the broker is not reachable; retrying`)
      await sleep(delayMs)
    }
  }
}

/**
 * Fails the start at once, naming the path, when the state directory cannot be created or written
 * (rather than as restarts of every partition actor later), or when another live process holds it:
 * a directory names its process's transactional producers (see transactional/role.ts), so two
 * processes on one directory would fence each other's transactions without end.
 */
export function checkDataDir(dir: string): void {
  const probe = join(dir, `.shop-write-check-${process.pid}`)
  try {
    mkdirSync(dir, { recursive: true })
    writeFileSync(probe, 'shop checks that its data directory is writable\n')
    rmSync(probe, { force: true })
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new DataDirError(`--data-dir ${dir} is not usable (${reason}): shop keeps its state caches there`, { cause: error })
  }
  const owner = join(dir, 'owner.pid')
  const holder = existsSync(owner) ? Number(readFileSync(owner, 'utf8').trim()) : undefined
  if (holder && holder !== process.pid && alive(holder)) {
    throw new DataDirError(`--data-dir ${dir} is in use by process ${holder} (${owner}): a data directory belongs to one shop process; give each its own`)
  }
  // A holder that is gone (killed, stopped) leaves its file behind: taken over.
  writeFileSync(owner, `${process.pid}\n`)
}

/** Tells the supervising process where this worker's HTTP server listens (written whole, then renamed into place). */
function announceUrl(dataDir: string, url: string): void {
  const file = workerUrlFile(dataDir)
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(`${file}.tmp`, `${url}\n`)
  renameSync(`${file}.tmp`, file)
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
