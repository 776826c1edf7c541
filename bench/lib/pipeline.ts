import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.ts'
import { collectorBytes } from '../../src/runtime/bun.ts'
import { ShopProcess } from '../../test/harness/shop-process.ts'
import type { BenchOptions } from '../options.ts'
import { scratchDir } from './environment.ts'

/** One shop process of a bench deployment. */
export interface Member {
  name: string
  roles: string
  shop: ShopProcess
  /** Starts the process again, with the same flags and data directory. */
  restart: () => Promise<ShopProcess>
}

export interface PipelineSpec {
  bus: 'kafka' | 'memory'
  /** The command that runs shop: the compiled binary, or `deno run ... src/main.ts`. */
  shop: string[]
  brokers: string[]
  prefix: string
  options: BenchOptions
  /** Where CPU profiles go (one folder per process); none when not profiling. */
  profileDir?: string
  /** Each stdout line of the process that runs the notifier. */
  onNotifierLine: (line: string) => void
  /** More shop flags for every process (the soak's --dedup-window-ms). */
  extraFlags?: string[]
  /** More environment for every process (the tracing bench's OTEL_* variables). */
  extraEnv?: Record<string, string>
}

/** A process name (`kafka:order,inventory`) as a file or folder name (`kafka-order-inventory`). */
const fileName = (name: string) => name.replace(/[^a-z0-9]+/gi, '-')

/** shop's roles started as separate processes of the compiled binary, as users deploy them. */
export class Pipeline {
  private constructor(
    readonly members: Member[],
    readonly apiUrl: string,
  ) {}

  static async start(spec: PipelineSpec): Promise<Pipeline> {
    const deployed = spec.options.deploy.split(';').map((g) => g.trim())
    // The memory bus lives inside one process: every role of the deployment shares it.
    const groups = spec.bus === 'memory' ? [[...new Set(deployed.flatMap((g) => g.split(',')))].join(',')] : deployed
    if (!groups.some((g) => g.split(',').includes('api'))) throw new Error('--deploy: no process runs the api role')
    if (!groups.some((g) => g.split(',').includes('notifier'))) throw new Error('--deploy: no process runs the notifier role')
    const members: Member[] = []
    try {
      for (const roles of groups) {
        const name = `${spec.bus}:${roles}`
        const dataDir = scratchDir('data')
        members.push({ name, roles, shop: await spawn(spec, name, roles, dataDir), restart: () => spawn(spec, name, roles, dataDir) })
      }
      await Promise.all(members.map((m) => m.shop.ready(120_000)))
    } catch (error) {
      for (const m of members) m.shop.kill('SIGKILL')
      throw error
    }
    const api = members.find((m) => m.roles.split(',').includes('api'))!
    return new Pipeline(members, api.shop.url)
  }

  /**
   * Stops one process (SIGTERM: it drains and exits) and starts it again on the same data
   * directory, as an operator restarts a host; resolves when it is ready.
   */
  async restart(member: Member): Promise<void> {
    member.shop.kill('SIGTERM')
    await member.shop.exited
    member.shop = await member.restart()
    await member.shop.ready(120_000)
  }

  /**
   * SIGTERM to every process (they drain, and write their profiles); SIGKILL after `ms`. Each
   * process's log (stderr) is kept in `logDir`.
   */
  async stop(logDir: string, ms = 30_000): Promise<void> {
    for (const m of this.members) m.shop.kill('SIGTERM')
    const timer = setTimeout(() => this.members.forEach((m) => m.shop.kill('SIGKILL')), ms)
    await Promise.all(this.members.map((m) => m.shop.exited))
    clearTimeout(timer)
    mkdirSync(logDir, { recursive: true })
    for (const m of this.members) writeFileSync(join(logDir, `${fileName(m.name)}.log`), `${m.shop.stderr.join('\n')}\n`)
  }
}

/** One shop process of `spec` running `roles` on `dataDir` (not waited for: call `ready`). */
export function spawn(spec: PipelineSpec, name: string, roles: string, dataDir: string): Promise<ShopProcess> {
  const env: Record<string, string | undefined> = { ...process.env, BUN_OPTIONS: undefined, ...spec.extraEnv }
  const args = [
    `--bus=${spec.bus}`,
    ...(spec.bus === 'kafka' ? [`--brokers=${spec.brokers.join(',')}`, `--topic-prefix=${spec.prefix}`] : []),
    `--roles=${roles}`,
    '--http-port=0',
    `--partitions=${spec.options.partitions}`,
    `--batch-max-records=${spec.options.batchMaxRecords}`,
    `--batch-linger-ms=${spec.options.batchLingerMs}`,
    `--data-dir=${dataDir}`,
    `--log-level=${spec.options.logLevel}`,
    ...(spec.extraFlags ?? []),
  ]
  if (spec.profileDir) {
    const dir = join(spec.profileDir, fileName(name))
    mkdirSync(dir, { recursive: true })
    env.BUN_OPTIONS = `--cpu-prof --cpu-prof-md --cpu-prof-dir=${dir}`
    // Under the profiler shop does not start itself again to size its collector (src/runtime/bun.ts):
    // the size it would choose is given, so that a profiled process collects as an unprofiled one.
    const size = collectorBytes(loadConfig(args, env).config.engineRamMb * 2 ** 20)
    if (size !== undefined) env.BUN_JSC_forceRAMSize ??= String(size)
  }
  return ShopProcess.spawn(args, {
    command: spec.shop,
    cwd: tmpdir(),
    env,
    onStdout: roles.split(',').includes('notifier') ? spec.onNotifierLine : undefined,
  })
}

/** The hottest functions (self time) of each profile Bun wrote under `dir`, as Markdown table rows. */
export function hotFunctions(dir: string, rows = 12): Record<string, string[]> {
  const result: Record<string, string[]> = {}
  for (const process of readdirSync(dir)) {
    const md = readdirSync(join(dir, process)).find((f) => f.endsWith('.md'))
    if (!md) continue
    const text = readFileSync(join(dir, process, md), 'utf8')
    const section = text.split('## Hot Functions (Self Time)')[1]?.split('\n## ')[0] ?? ''
    result[process] = section
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .slice(0, rows + 2)
  }
  return result
}
