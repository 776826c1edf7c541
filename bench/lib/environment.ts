import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { isRetryable } from '../../src/errors.ts'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import type { ConsumerListener, ConsumerOptions, GroupConsumer, Log } from '../../src/kafka/port.ts'
import type { TopicSpec } from '../../src/kafka/types.ts'
import { retrying } from '../../src/time.ts'
import { repo } from '../../test/harness/shop-process.ts'
import type { BenchOptions } from '../options.ts'

/** The local broker's port when the bench starts one (apart from dev's 9092 and the tests' 19092). */
const BENCH_KAFKA_PORT = 29092

/** This run's id: every topic and group the run creates is named `bench-<id>-<n>.…` (runPrefix). */
const runId = randomUUID().slice(0, 8)
let prefixes = 0

/**
 * A fresh prefix for the topics and groups of one part of this run, `bench-<run id>-<n>.`: the
 * parts never share a topic, and the run deletes its own topics, and no other run's, when it ends
 * (Broker.stop).
 */
export function runPrefix(): string {
  return `bench-${runId}-${++prefixes}.`
}

/** What the figures were measured on. */
export interface Machine {
  cpus: number
  cpuModel: string
  memoryGb: number
  bun: string
  kafka: string | null
}

export function machine(kafka: string | null): Machine {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), bun: Bun.version, kafka }
}

/** Runs `command` in the checkout and returns its stdout; throws with its output when it fails. */
export function run(command: string[], env: Record<string, string> = {}): string {
  const result = Bun.spawnSync(command, { cwd: repo, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`${command.join(' ')} failed (exit ${result.exitCode}):\n${result.stdout}${result.stderr}`)
  return result.stdout.toString()
}

let scratch: string | undefined

/**
 * A new directory for `what` under the bench run's scratch directory, which holds the binary it
 * builds and every shop process's data directory and is removed when the bench exits. Left behind,
 * each run cost ~120 MB of /tmp (the binary, the SQLite caches): 522 runs filled this machine's disk.
 */
export function scratchDir(what: string): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'shop-bench-'))
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    scratch = dir
  }
  return mkdtempSync(join(scratch, `${what}-`))
}

/** The shop binary to benchmark: --shop, or one built from this checkout (scripts/build.ts). */
export function shopBinary(options: BenchOptions): string {
  if (options.shop) return resolve(options.shop)
  const binary = join(scratchDir('bin'), 'shop')
  run([process.execPath, 'scripts/build.ts', binary])
  return binary
}

export interface Broker {
  brokers: string[]
  /** The broker's pid when it runs on this machine (for its CPU and memory figures). */
  pid: number | undefined
  version: string
  /**
   * Deletes this run's topics (unless --keep-topics), then stops the local broker if the bench
   * started it. Never throws: the results are written by then, and a failed deletion is said.
   */
  stop(): Promise<void>
}

/**
 * Deletes every topic whose name has this run's prefix: the pipelines', the log-layer baselines'
 * and Kafka Streams' own (changelogs, repartition topics). Left behind, each run added ~38 topics
 * of 6 partitions: on a broker holding 1,493 of them the Kafka pipeline completed 926 orders/s,
 * against 1,688 once they were deleted (docs/performance.md, "Old runs' topics").
 */
async function deleteRunTopics(brokers: string[], say: (line: string) => void): Promise<void> {
  const log = new KafkaLog({ brokers, clientId: 'bench-cleanup' })
  try {
    const mine = (await log.admin.listTopics()).filter((name) => name.startsWith(`bench-${runId}-`))
    if (mine.length > 0) await log.admin.deleteTopics(mine)
    say(`deleted this run's ${mine.length} topics (bench-${runId}-*; --keep-topics keeps them)`)
  } catch (error) {
    say(`could not delete this run's topics (bench-${runId}-*): ${(error as Error)?.message ?? error}`)
  } finally {
    await log.close()
  }
}

/** The pid of the broker scripts/kafka.sh runs on `port` here, undefined when none does. */
export function scriptBrokerPid(port: string): number | undefined {
  const status = Bun.spawnSync(['bash', 'scripts/kafka.sh', 'status'], { cwd: repo, env: { ...process.env, KAFKA_PORT: port } })
  if (status.exitCode !== 0) return undefined
  return Number(/pid (\d+)/.exec(status.stdout.toString())?.[1]) || undefined
}

/**
 * --brokers, or the local broker of scripts/kafka.sh (installed and started here, stopped after if
 * the bench started it). A given broker's pid is known, so that its CPU is measured too, when it is
 * one address on 127.0.0.1 or localhost whose port has a broker of this checkout's script.
 */
export function kafkaBroker(options: BenchOptions, say: (line: string) => void): Broker {
  const version = /<kafka.version>(.*)<\/kafka.version>/.exec(readFileSync(join(repo, 'scripts/kafka/pom.xml'), 'utf8'))?.[1] ?? 'unknown'
  const cleanUp = (brokers: string[]) => (options.keepTopics ? Promise.resolve() : deleteRunTopics(brokers, say))
  if (options.brokers) {
    const brokers = options.brokers.split(',')
    const local = brokers.length === 1 ? /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(brokers[0]!) : null
    return { brokers, pid: local ? scriptBrokerPid(local[1]!) : undefined, version: `${version} (given)`, stop: () => cleanUp(brokers) }
  }
  const port = String(BENCH_KAFKA_PORT)
  run(['bash', 'scripts/setup.sh', '--kafka'])
  const wasRunning = scriptBrokerPid(port) !== undefined
  if (!wasRunning) run(['bash', 'scripts/kafka.sh', 'up'], { KAFKA_PORT: port })
  const brokers = [`127.0.0.1:${port}`]
  return {
    brokers,
    pid: scriptBrokerPid(port),
    version,
    async stop() {
      // Its data directory outlives it: the topics would be there at the next run's start.
      await cleanUp(brokers)
      if (!wasRunning) run(['bash', 'scripts/kafka.sh', 'down'], { KAFKA_PORT: port })
    },
  }
}

/**
 * Creates the bench's topics, retrying while the broker says it may answer later: a broker just
 * started, on a data directory of many topics, still elects their leaders after `scripts/kafka.sh
 * up` has returned, and lists topics with LEADER_NOT_AVAILABLE meanwhile (as shop's own start
 * waits, `untilAvailable` in src/app.ts).
 */
export function ensureTopics(log: Log, specs: TopicSpec[]): Promise<void> {
  return retrying(20, { minMs: 250, maxMs: 5_000, factor: 2 }, () => log.admin.ensureTopics(specs), isRetryable)
}

/**
 * A group consumer that has joined, retrying while the broker says it may answer later: a broker
 * just started still loads its group coordinators, and answers the first join
 * COORDINATOR_LOAD_IN_PROGRESS (as `ensureTopics` waits out LEADER_NOT_AVAILABLE).
 */
export async function startedConsumer(log: Log, options: ConsumerOptions, listener: (consumer: GroupConsumer) => ConsumerListener): Promise<GroupConsumer> {
  return retrying(20, { minMs: 250, maxMs: 5_000, factor: 2 }, async () => {
    const consumer = log.consumer(options)
    try {
      await consumer.start(listener(consumer))
      return consumer
    } catch (error) {
      await consumer.close().catch(() => {})
      throw error
    }
  }, isRetryable)
}

/**
 * What every bench starts from, saying so: the shop binary, and the broker when `kafka` (--brokers,
 * or the local one on port 29092). The caller stops the broker.
 */
export function benchEnvironment(options: BenchOptions, say: (line: string) => void, kafka: boolean): { binary: string; broker: Broker | undefined } {
  say(`building the shop binary${options.shop ? ' (skipped: --shop given)' : ''}`)
  const binary = shopBinary(options)
  if (!kafka) return { binary, broker: undefined }
  say(options.brokers ? `using Kafka at ${options.brokers}` : `starting the local Kafka broker (scripts/kafka.sh, port ${BENCH_KAFKA_PORT})`)
  return { binary, broker: kafkaBroker(options, say) }
}
