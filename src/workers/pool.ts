import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Readiness } from '../api/health/readiness.ts'
import type { Role } from '../actors/runtime/role.ts'
import type { Supervisor } from '../actors/runtime/supervisor.ts'
import type { Behavior } from '../actors/runtime/types.ts'
import { type Config, type RoleName, unpartitionedRoles } from '../config/options.ts'
import type { LogAdmin } from '../kafka/port.ts'
import { ShopError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics, MetricsJson } from '../observability/metrics.ts'
import { type ChildProcess, runtime } from '../runtime/index.ts'
import { withDeadline } from '../time.ts'
import { defaultReadModelFile } from '../read-model/open.ts'
import { type StartGate, openStartGate } from './start-gate.ts'

/**
 * `--workers=N`: the process becomes the supervisor of N worker processes (the same program) that
 * run its consuming roles. Each worker is one more member of every consumer group, so Kafka's group
 * protocol spreads the partitions over them exactly as it does over separate deployments, and each
 * keeps its exactly-once guarantees on its own (its own data directory, hence its own transactional
 * ids). The supervisor keeps the roles without a consumer group (api, registry), restarts a worker
 * that exits, stops them all on SIGTERM, and answers /readyz and /metrics for the whole tree.
 */

/** What a worker learns from its supervisor, through its environment. */
export interface WorkerIdentity {
  index: number
  supervisorPid: number
  /** Where it waits for its siblings before joining its groups: for the workers the tree starts with, not for one restarted. */
  gate?: StartGate
}

const INDEX = 'SHOP_WORKER_INDEX'
const SUPERVISOR = 'SHOP_SUPERVISOR_PID'
const GATE = 'SHOP_START_GATE'
const GATE_WORKERS = 'SHOP_START_GATE_WORKERS'

/** This process's identity as a worker, or undefined when it is not one. */
export function workerIdentity(env: Record<string, string | undefined>): WorkerIdentity | undefined {
  const index = Number(env[INDEX])
  const supervisorPid = Number(env[SUPERVISOR])
  if (!env[INDEX] || !Number.isInteger(index) || !Number.isInteger(supervisorPid)) return undefined
  const workers = Number(env[GATE_WORKERS])
  return env[GATE] && Number.isInteger(workers) && workers > 1 ? { index, supervisorPid, gate: { dir: env[GATE], workers } } : { index, supervisorPid }
}

/** The file, in a worker's data directory, where it writes the URL of its HTTP server once it listens. */
export const workerUrlFile = (dataDir: string): string => join(dataDir, 'worker.url')

/** The roles of a supervising process split: those it keeps, and those its workers run. */
export function splitRoles(roles: RoleName[]): { local: RoleName[]; delegated: RoleName[] } {
  return { local: roles.filter((r) => unpartitionedRoles.has(r)), delegated: roles.filter((r) => !unpartitionedRoles.has(r)) }
}

/** A worker exited while it should have run: its supervisor restarts it (or escalates a bad configuration). */
export class WorkerExitedError extends ShopError {
  constructor(
    readonly worker: string,
    readonly exitCode: number,
  ) {
    super(`${worker} exited with code ${exitCode}`)
  }
}

/** A worker's exit code for a bad command line or configuration (main.ts): restarting cannot cure it. */
const USAGE_EXIT = 2

/** The broker setting that lets workers started together join each group in one generation. */
export const initialRebalanceDelay = 'group.initial.rebalance.delay.ms'

/**
 * What a supervisor says at its start of the broker's `group.initial.rebalance.delay.ms`, if
 * anything. At 0 the broker completes a group's first join alone: the first worker takes every
 * partition and hands half of them back a heartbeat later, its transactions in flight fenced and
 * their state restored again by the next owner (docs/performance.md, "One generation at start").
 */
export function rebalanceDelayWarning(value: string | undefined): string | undefined {
  if (value !== '0') return undefined
  return `the broker completes a group's first join alone (${initialRebalanceDelay}=0): the workers, started together, join each group a rebalance apart and redo part of their first seconds of work; give the broker a delay (Kafka's default is 3000 ms; README, Troubleshooting)`
}

/** How often the supervisor asks its workers whether they are ready. */
const readinessEveryMs = 1_000
/** How long a scrape waits for a worker's series: well inside Prometheus's default scrape timeout (10 s). */
const scrapeTimeoutMs = 2_000

export interface WorkersOptions {
  config: Config
  /** Where the supervisor reads the broker's settings. */
  admin: Pick<LogAdmin, 'brokerSetting'>
  /** The supervising process's own command-line arguments; a worker gets them with its overrides after them (the last of a flag wins). */
  argv: string[]
  logger: Logger
  metrics: Metrics
  supervisor: Supervisor
}

interface WorkerState {
  name: string
  dataDir: string
  url?: string
  readiness: Readiness
  process?: ChildProcess
  /** Started once: a restart does not wait at the start gate for siblings that are long past it. */
  started?: boolean
}

/** The workers of a supervising process, as one of its roles. */
export function workersRole(options: WorkersOptions): Role {
  const { config, logger, metrics } = options
  const { delegated } = splitRoles(config.roles)
  const supervisor = options.supervisor.child('workers', {
    strategy: { decide: (error) => (error instanceof WorkerExitedError && error.exitCode === USAGE_EXIT ? 'escalate' : 'restart') },
  })
  const workers: WorkerState[] = Array.from({ length: config.workers }, (_, index) => ({
    name: `worker-${index}`,
    dataDir: join(config.dataDir, `worker-${index}`),
    readiness: { ready: false, reason: `worker-${index} is starting` },
  }))
  // At 0 from the start, so that rate() and the alerts see the first restart.
  metrics.actorRestarts.inc({ actor: 'worker' }, 0)
  let poller: ReturnType<typeof setInterval> | undefined
  const actors: Array<{ stop(): Promise<void> }> = []
  let gate: StartGate | undefined

  const argv = (worker: WorkerState) => [
    ...runtime.selfCommand(),
    ...options.argv,
    '--workers=1',
    `--roles=${delegated.join(',')}`,
    `--data-dir=${worker.dataDir}`,
    // The default read model is a SQLite file in the data directory: the workers' projectors write the
    // supervisor's, where its api reads (WAL and a busy timeout let the processes share it).
    ...(config.readModel ? [] : [`--read-model=sqlite:${join(config.dataDir, defaultReadModelFile)}`]),
    // Loopback on a free port: only the supervisor talks to a worker's HTTP server.
    '--http-host=127.0.0.1',
    '--http-port=0',
  ]

  const behavior = (worker: WorkerState, index: number, exited: (code: number) => void): Behavior<{ exited: number }> => ({
    preStart() {
      mkdirSync(worker.dataDir, { recursive: true })
      // A URL from the worker's previous life must not be asked.
      rmSync(workerUrlFile(worker.dataDir), { force: true })
      worker.url = undefined
      worker.readiness = { ready: false, reason: `${worker.name} is starting` }
      // Only the workers the tree starts with meet at the gate (and none inherits one from the supervisor's environment).
      const atGate = gate && !worker.started ? gate : undefined
      worker.started = true
      const env = { ...process.env, [INDEX]: String(index), [SUPERVISOR]: String(process.pid), [GATE]: atGate?.dir, [GATE_WORKERS]: atGate && String(atGate.workers) }
      const child = runtime.spawn(argv(worker), { env, output: 'inherit' })
      worker.process = child
      logger.info({ event: 'worker:start', worker: worker.name, pid: child.pid, roles: delegated }, `${worker.name} started`)
      // An exit the supervisor asked for (postStop clears worker.process first) is not a failure.
      child.exited.then((code) => worker.process === child && exited(code))
    },
    receive({ exited }) {
      throw new WorkerExitedError(worker.name, exited)
    },
    async postStop() {
      const child = worker.process
      worker.process = undefined
      worker.readiness = { ready: false, reason: `${worker.name} is stopped` }
      if (!child || child.exitCode !== null) return
      // The worker's own graceful stop, bounded by its deadline; past it (and a little more), it is killed.
      child.kill('SIGTERM')
      const code = await withDeadline(child.exited, config.shutdownTimeoutMs + 2_000, `${worker.name} stop`).catch(() => {
        child.kill('SIGKILL')
        return child.exited
      })
      logger.info({ event: 'worker:stop', worker: worker.name, pid: child.pid, exitCode: code }, `${worker.name} stopped`)
    },
  })

  /** Reads each worker's URL once it is written, then its /readyz. */
  const poll = async () => {
    await Promise.all(
      workers.map(async (worker) => {
        const child = worker.process
        if (!child) return
        worker.url ??= readUrl(worker.dataDir)
        if (!worker.url) return
        let readiness: Readiness
        try {
          const response = await fetch(`${worker.url}/readyz`, { signal: AbortSignal.timeout(readinessEveryMs) })
          const body = (await response.json()) as { status?: string; reasons?: string[] }
          readiness = response.ok ? { ready: true } : { ready: false, reason: `${worker.name}: ${(body.reasons ?? [body.status ?? response.status]).join('; ')}` }
        } catch (error) {
          readiness = { ready: false, reason: `${worker.name} does not answer (${(error as Error).message})` }
        }
        // An answer of a process that has been stopped or replaced meanwhile says nothing of the current one.
        if (worker.process === child) worker.readiness = readiness
      }),
    )
  }

  metrics.include(async () => {
    const answers = await Promise.all(
      workers.map(async (worker) => {
        if (!worker.url || !worker.process) return undefined
        try {
          const response = await fetch(`${worker.url}/metrics?format=json`, { signal: AbortSignal.timeout(scrapeTimeoutMs) })
          return response.ok ? ((await response.json()) as MetricsJson) : undefined
        } catch {
          // A worker restarting: its series are missing from this scrape (counters resume from the restarted worker's own).
          return undefined
        }
      }),
    )
    return answers.filter((a): a is MetricsJson => a !== undefined)
  })

  return {
    name: 'workers',
    async start() {
      // Not waited for: the workers start meanwhile, and a broker that cannot say keeps its peace.
      options.admin.brokerSetting(initialRebalanceDelay).then(
        (value) => {
          const warning = rebalanceDelayWarning(value)
          if (warning) logger.warn({ event: 'workers:rebalance-delay', setting: initialRebalanceDelay, value }, warning)
        },
        () => {},
      )
      gate = openStartGate(join(config.dataDir, 'start-gate'), workers.length)
      workers.forEach((worker, index) => {
        const actor = supervisor.spawn<{ exited: number }>(worker.name, () =>
          behavior(worker, index, (code) => {
            if (actor.status === 'running') actor.tell({ exited: code })
          }),
        )
        actors.push(actor)
      })
      poller = setInterval(() => void poll(), readinessEveryMs)
    },
    readiness() {
      return workers.map((w) => w.readiness).find((r) => !r.ready) ?? { ready: true }
    },
    async stop() {
      clearInterval(poller)
      await Promise.all(actors.map((actor) => actor.stop()))
    },
  }
}

function readUrl(dataDir: string): string | undefined {
  try {
    return readFileSync(workerUrlFile(dataDir), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}
