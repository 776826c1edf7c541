import { join } from 'node:path'
import { denoRun } from '../src/runtime/deno.ts'
import { repo } from '../test/harness/shop-process.ts'
import type { BenchOptions } from './options.ts'
import { benchEnvironment, machine, run } from './lib/environment.ts'
import { closedLoop } from './lib/load.ts'
import { type Ratio, type RuntimesResult, runtimesMarkdown, writeResult } from './lib/report.ts'
import { type Say, Session } from './lib/session.ts'
import { ratio } from './lib/stats.ts'

type Run = RuntimesResult['runs'][number]

/** The Deno that `scripts/setup.sh --deno` installs from npm. */
const deno = join(repo, '.cache/deno/node_modules/.bin/deno')

/**
 * `bun bench runtimes`: the same pipeline, load and orders on Bun and on Deno, on each bus of
 * --bus, one deployment after the other in one run. Bun runs the compiled binary users run; Deno runs
 * the source with `deno run` (a Deno binary cannot be made here: `deno compile` downloads its runtime).
 */
export async function runtimes(options: BenchOptions, say: Say): Promise<{ result: RuntimesResult; files: string[] }> {
  const buses = [...new Set(options.bus.split(','))] as Array<'kafka' | 'memory'>
  const startedAt = new Date().toISOString()
  const { binary, broker } = benchEnvironment(options, say, buses.includes('kafka'))
  run(['bash', 'scripts/setup.sh', '--deno'])
  const commands = { bun: [binary], deno: denoRun(deno, join(repo, 'src/main.ts')) }
  try {
    const runs: Run[] = []
    for (const bus of buses) {
      for (const runtime of ['bun', 'deno'] as const) {
        const label = `${runtime} ${bus} pipeline`
        const session = await Session.start(bus, commands[runtime], broker, options, (line) => say(`[${runtime}] ${line}`), options.orders + options.warmup)
        let measured
        try {
          measured = await session.measure(label, (target, live) => closedLoop(target, options.orders, options.concurrency, live))
        } finally {
          await session.stop()
        }
        const shopCpuSeconds = measured.processes.filter((p) => p.name.startsWith(`${bus}:`)).reduce((sum, p) => sum + (p.cpuPercent / 100) * measured.pipeline.seconds, 0)
        const { completed } = measured.pipeline
        runs.push({
          runtime,
          command: commands[runtime].map((part) => part.replace(`${repo}/`, '')).join(' '),
          bus,
          pipeline: measured.pipeline,
          processes: measured.processes,
          shopCpuMsPerOrder: completed > 0 ? Math.round((shopCpuSeconds * 1000 * 100) / completed) / 100 : null,
        })
      }
    }
    const result: RuntimesResult = {
      bench: 'runtimes',
      startedAt,
      machine: machine(broker?.version ?? null),
      deno: /deno (\S+)/.exec(run([deno, '--version']))?.[1] ?? 'unknown',
      options: { ...options },
      runs,
      ratios: buses.flatMap((bus) => ratios(runs.filter((r) => r.bus === bus))),
    }
    const files = writeResult(options.out, 'runtimes', result, runtimesMarkdown(result))
    return { result, files }
  } finally {
    await broker?.stop()
  }
}

function ratios(runs: Run[]): Ratio[] {
  const bun = runs.find((r) => r.runtime === 'bun')!
  const deno = runs.find((r) => r.runtime === 'deno')!
  return [
    {
      name: `completed orders/s, Deno / Bun (${bun.bus})`,
      measured: `on Deno: ${deno.pipeline.completedPerSecond}`,
      baseline: `on Bun: ${bun.pipeline.completedPerSecond}`,
      value: ratio(deno.pipeline.completedPerSecond, bun.pipeline.completedPerSecond),
    },
    {
      name: `shop CPU ms per order, Deno / Bun (${bun.bus})`,
      measured: `on Deno: ${deno.shopCpuMsPerOrder ?? '-'}`,
      baseline: `on Bun: ${bun.shopCpuMsPerOrder ?? '-'}`,
      value: deno.shopCpuMsPerOrder === null ? null : ratio(deno.shopCpuMsPerOrder, bun.shopCpuMsPerOrder),
    },
  ]
}
