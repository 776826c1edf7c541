import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { groupName, topicNames, topicSpecs, topology } from '../../src/topology.ts'
import type { RoleName } from '../../src/config/options.ts'
import type { BenchOptions } from '../options.ts'
import { type Broker, runPrefix } from './environment.ts'
import { Completions, closedLoop, type LoadResult, type LoadTarget, type OrderMix, orderBodies, stockPlan } from './load.ts'
import { setStock } from '../../test/harness/stock.ts'
import { type Member, Pipeline, hotFunctions } from './pipeline.ts'
import { eventually } from '../../test/harness/eventually.ts'
import type { PipelineFigures } from './report.ts'
import { type GroupLag, LagSampler, MachineSampler, ProcessSampler, type ProcessUsage, rssMb } from './sampler.ts'
import { percentiles, perSecond, round } from './stats.ts'
import { BrokerRequests, type RequestTimes, requestTimesBetween, requestsBetween } from './broker-requests.ts'
import { type EventLoopDelay, readEventLoopDelay } from './event-loop.ts'
import { type HopTiming, hopTimings } from './hops.ts'

/** Prints one progress line (to stderr, with the time since the bench started). */
export type Say = (line: string) => void

export const mixOf = (o: BenchOptions): OrderMix => ({ users: o.users, skus: o.skus, maxLines: o.maxLines, outOfStock: o.outOfStock, seed: o.seed })

/** The figures of one load run; without `completions` (a bare HTTP baseline) nothing counts as completed. */
export function figures(load: LoadResult, completions?: Completions, logAppends?: number): PipelineFigures {
  const lastAt = Math.max(load.lastAcceptedAt, completions?.lastAt ?? 0)
  return {
    sent: load.sent,
    accepted: load.accepted,
    refused: load.refused,
    dropped: load.dropped,
    completed: completions?.completed ?? 0,
    missing: completions?.waiting ?? 0,
    outcomes: completions?.outcomes ?? {},
    acceptedPerSecond: perSecond(load.accepted, load.lastAcceptedAt - load.startedAt),
    completedPerSecond: completions ? perSecond(completions.completed, completions.lastAt - load.startedAt) : 0,
    seconds: round(Math.max(0, lastAt - load.startedAt) / 1000),
    toAccepted: percentiles(load.toAccepted.values()),
    toNotified: percentiles(completions?.toNotified.values() ?? []),
    logAppendsPerOrder: logAppends === undefined || load.accepted === 0 ? null : round(logAppends / load.accepted),
  }
}

/** A process restarted on its data directory: what its partition actors restored, and how long it took. */
export interface Restore {
  process: string
  actors: number
  /** From SIGTERM to every stateful partition actor restored. */
  wallMs: number
  /** The slowest partition actor's restore (cache load and changelog catch-up). */
  slowestMs: number
  /** State entries held after the restore, over every partition. */
  entries: number
  /** Of them, those held in memory (the others are in the state cache alone, read back when a record needs them). */
  inMemory: number
  /** Changelog records read past the cache's checkpoint. */
  replayed: number
}

export interface Measured {
  pipeline: PipelineFigures
  processes: ProcessUsage[]
  /** How busy the whole machine was meanwhile, in % of all its cores (null: not on Linux). */
  machineBusyPercent: number | null
  lag: GroupLag[] | null
  /** Where each group's transactions spent their time (shop's debug log lines; empty at other log levels). */
  hops: HopTiming[]
  /** The requests the broker answered meanwhile, by type, most first (null: no broker on this machine, or no JDK to read it). */
  brokerRequests: Record<string, number> | null
  /** The broker's mean time per request meanwhile, by type (null when the requests are not counted). */
  brokerRequestTimes: Record<string, RequestTimes> | null
  /** Each shop process's event-loop delay meanwhile. */
  eventLoop: EventLoopDelay[]
}

/**
 * One deployment of shop under load: started with stock seeded and warmed up; then each `measure`
 * drives a load, waits for every accepted order's notification, and reports what it saw.
 */
export class Session {
  readonly bodies: () => string
  #completions = new Completions()

  private constructor(
    readonly bus: 'kafka' | 'memory',
    readonly pipeline: Pipeline,
    private readonly options: BenchOptions,
    private readonly say: Say,
    /** Sampled for CPU and memory; a restarted member's pid is updated. */
    private readonly processes: Array<{ name: string; pid: number }>,
    private readonly lagLog: KafkaLog | undefined,
    private readonly lagGroups: Array<{ group: string; topics: string[] }>,
    private readonly profileDir: string | undefined,
    private readonly topics: string[],
    private readonly brokerRequests: BrokerRequests | undefined,
  ) {
    // The warm-up and the measurement draw from one sequence, so no order repeats.
    this.bodies = orderBodies(mixOf(options))
  }

  static async start(
    bus: 'kafka' | 'memory',
    shop: string[],
    broker: Broker | undefined,
    options: BenchOptions,
    say: Say,
    stockFor: number,
    extraFlags: string[] = [],
    extraEnv: Record<string, string> = {},
  ): Promise<Session> {
    const prefix = runPrefix()
    const profileDir = options.profile ? join(options.out, 'profiles', bus) : undefined
    if (profileDir) rmSync(profileDir, { recursive: true, force: true })
    let session: Session | undefined
    say(`${bus} pipeline: starting ${bus === 'memory' ? '1 process' : options.deploy.split(';').map((g) => `[${g}]`).join(' ')}${profileDir ? ' with CPU profiling' : ''}`)
    const pipeline = await Pipeline.start({
      bus,
      shop,
      brokers: broker?.brokers ?? [],
      prefix,
      options,
      profileDir,
      onNotifierLine: (line) => session?.completions.line(line),
      extraFlags,
      extraEnv,
    })
    const processes = pipeline.members.map((m) => ({ name: m.name, pid: m.shop.proc.pid }))
    if (bus === 'kafka' && broker?.pid) processes.push({ name: 'kafka broker', pid: broker.pid })
    processes.push({ name: 'bench (load generator)', pid: process.pid })
    const deployed = new Set(pipeline.members.flatMap((m) => m.roles.split(',')))
    const roles = topology(topicNames(prefix))
    const lagGroups = (Object.keys(roles) as Array<keyof typeof roles>)
      .filter((role) => role !== 'api' && deployed.has(role))
      .map((role) => ({ group: groupName(prefix, role), topics: roles[role].reads }))
    // The topics the deployment created (only names matter here: the audit topics exist when the audit role runs).
    const createdTopics = topicSpecs({ partitions: 1, topicPrefix: prefix, idempotencyTtlMs: 0, roles: [...deployed] as RoleName[] }).map((t) => t.name)
    const lagLog = bus === 'kafka' && broker ? new KafkaLog({ brokers: broker.brokers, clientId: 'bench-lag' }) : undefined
    let requests: BrokerRequests | undefined
    if (bus === 'kafka' && broker?.pid) {
      const opened = BrokerRequests.open(broker.pid)
      if (typeof opened === 'string') say(`the broker's requests are not counted: ${opened}`)
      else requests = opened
    }
    session = new Session(bus, pipeline, options, say, processes, lagLog, lagGroups, profileDir, createdTopics, requests)
    try {
      say(`${bus} pipeline: seeding stock of ${options.skus} SKUs (+ sold-out ones)`)
      await setStock(pipeline.apiUrl, stockPlan(mixOf(options), stockFor), 60_000)
      if (options.warmup > 0) {
        const warm = await session.measure(`${bus} warm-up`, (target) => closedLoop(target, options.warmup, options.concurrency))
        say(`${bus} warm-up: ${warm.pipeline.completed} orders completed (not counted)`)
      }
    } catch (error) {
      await session.stop()
      throw error
    }
    return session
  }

  get completions(): Completions {
    return this.#completions
  }

  /** Drives `load` against the API, then waits for the notifications of every accepted order. */
  async measure(label: string, load: (target: LoadTarget, live: (r: LoadResult) => void) => Promise<LoadResult>): Promise<Measured> {
    const completions = (this.#completions = new Completions())
    const processSampler = new ProcessSampler(this.processes)
    const lagSampler = this.lagLog ? new LagSampler(this.lagLog, this.lagGroups) : undefined
    const appendsBefore = await this.#logEnd()
    const requestsBefore = this.brokerRequests?.read()
    await this.#eventLoopDelays()
    const logged = this.pipeline.members.map((m) => m.shop.stderr.length)
    const machineSampler = new MachineSampler()
    processSampler.start()
    lagSampler?.start()
    let live: LoadResult | undefined
    const progress = () => {
      if (!live) return
      const seconds = (performance.now() - live.startedAt) / 1000
      const lag = lagSampler ? ` | lag ${[...lagSampler.latest].map(([g, n]) => `${g.split('shop-')[1]}=${n}`).join(' ')}` : ''
      this.say(
        `${label}: ${live.sent} sent, ${live.accepted} accepted (${Math.round(live.accepted / seconds)}/s), ${completions.completed} notified (${Math.round(completions.completed / seconds)}/s)${lag}`,
      )
    }
    const timer = setInterval(progress, 2000)
    try {
      const result = await load({ url: this.pipeline.apiUrl, next: this.bodies, onAccepted: (id, at) => completions.accepted(id, at) }, (r) => (live = r))
      this.say(`${label}: load done; waiting for ${completions.waiting} notifications`)
      await completions.drain(this.options.drainTimeoutMs)
      if (completions.waiting > 0) this.say(`${label}: ${completions.waiting} accepted orders got no notification within ${this.options.drainTimeoutMs} ms`)
      progress()
      const processes = processSampler.stop()
      const machineBusyPercent = machineSampler.stop()
      const lag = (await lagSampler?.stop()) ?? null
      const appendsAfter = await this.#logEnd()
      const requestsAfter = this.brokerRequests?.read()
      const eventLoop = await this.#eventLoopDelays()
      const brokerRequests = requestsBefore && requestsAfter ? requestsBetween(requestsBefore, requestsAfter) : null
      const brokerRequestTimes = requestsBefore && requestsAfter ? requestTimesBetween(requestsBefore, requestsAfter) : null
      const appends = appendsBefore === undefined || appendsAfter === undefined ? undefined : appendsAfter - appendsBefore
      const hops = hopTimings(this.pipeline.members.flatMap((m, i) => m.shop.stderr.slice(logged[i])))
      return { pipeline: figures(result, completions, appends), processes, machineBusyPercent, lag, hops, brokerRequests, brokerRequestTimes, eventLoop }
    } finally {
      clearInterval(timer)
    }
  }

  /** Each shop process's event-loop delay since the last read (which the read resets). */
  async #eventLoopDelays(): Promise<EventLoopDelay[]> {
    const read = await Promise.all(this.pipeline.members.map((m) => readEventLoopDelay(m.name, m.shop.url)))
    return read.filter((delay) => delay !== undefined)
  }

  /**
   * Waits until every group has caught up: no record after its committed offsets. Orders go on
   * living after their first notification (payment, packing, shipping); this waits for the end of
   * their lives. On the memory bus the groups live in the process, which reports their lag on
   * `/metrics` (`kafka_consumergroup_lag`, sampled every `--lag-sample-ms`): caught up is every
   * series at 0 in two reads a second apart, the second taken after a sample of its own.
   */
  async settle(ms = 300_000): Promise<void> {
    if (this.bus === 'memory') return this.#settleReported(ms)
    if (!this.lagLog) return
    const sampler = new LagSampler(this.lagLog, this.lagGroups)
    await eventually(async () => {
      for (const { group, topics } of this.lagGroups) {
        const unread = await sampler.unread(group, topics)
        if (unread > 0) throw new Error(`${group} has ${unread} records to read after ${ms} ms`)
      }
    }, ms, 500)
  }

  /** `settle` on the memory bus: by the lag the process itself reports (see `settle`). */
  async #settleReported(ms: number): Promise<void> {
    const [member] = this.pipeline.members
    if (!member) return
    let quietSince: number | undefined
    await eventually(async () => {
      const unread = reportedLag(await (await fetch(`${member.shop.url}/metrics`)).text())
      if (unread > 0) quietSince = undefined
      else quietSince ??= performance.now()
      if (unread > 0 || performance.now() - quietSince! < 1_000) throw new Error(`${member.name}: ${unread} records to read after ${ms} ms`)
    }, ms, 250)
  }

  /** The RSS of each shop process now, MB. */
  rss(): Record<string, number> {
    return Object.fromEntries(this.pipeline.members.map((m) => [m.name, round(rssMb(m.shop.proc.pid) ?? 0)]))
  }

  /**
   * Restarts the process of `member` on its data directory and waits until every partition actor
   * with state on it has restored (`actor:restored`). Returns the restores: the slowest, and the
   * entries (those held in memory apart: the others are in the state cache alone) and
   * replayed changelog records summed over the partitions.
   */
  async restart(member: Member): Promise<Restore> {
    const roles = topology(topicNames(''))
    const stateful = member.roles.split(',').filter((r) => r in roles && Object.keys(roles[r as keyof typeof roles].stores).length > 0)
    const expected = stateful.length * this.options.partitions
    const started = performance.now()
    await this.pipeline.restart(member)
    const restores = await eventually(() => {
      const lines = member.shop.stderr.flatMap((line) => (line.includes('"actor:restored"') ? [JSON.parse(line) as { ms: number; entries: number; inMemory: number; replayed: number }] : []))
      if (lines.length < expected) throw new Error(`${member.name}: ${lines.length} of ${expected} partition actors restored`)
      return lines
    }, 120_000, 50)
    const process = this.processes.find((p) => p.name === member.name)
    if (process) process.pid = member.shop.proc.pid
    return {
      process: member.name,
      actors: restores.length,
      wallMs: Math.round(performance.now() - started),
      slowestMs: Math.max(...restores.map((r) => r.ms)),
      entries: restores.reduce((n, r) => n + r.entries, 0),
      inMemory: restores.reduce((n, r) => n + r.inMemory, 0),
      replayed: restores.reduce((n, r) => n + r.replayed, 0),
    }
  }

  /** The sum of the end offsets of every shop topic (Kafka only). */
  async #logEnd(): Promise<number | undefined> {
    if (!this.lagLog) return undefined
    let sum = 0n
    for (const ends of (await this.lagLog.admin.endOffsetsOf(this.topics)).values()) for (const end of ends) sum += end
    return Number(sum)
  }

  /** Stops every process (SIGTERM, so profiles are written) and returns the hottest functions when profiling. */
  async stop(): Promise<Record<string, string[]> | null> {
    await this.pipeline.stop(join(this.options.out, 'logs', this.bus))
    await this.lagLog?.close()
    return this.profileDir ? hotFunctions(this.profileDir) : null
  }
}

/** The sum of a process's `kafka_consumergroup_lag` series in its `/metrics` text; Infinity when it has none yet. */
function reportedLag(metrics: string): number {
  const series = [...metrics.matchAll(/^kafka_consumergroup_lag\{[^}]*\} ([0-9.eE+-]+)$/gm)]
  return series.length === 0 ? Number.POSITIVE_INFINITY : series.reduce((sum, [, value]) => sum + Number(value), 0)
}
