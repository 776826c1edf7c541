import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchOptions } from './options.ts'
import { benchEnvironment, machine } from './lib/environment.ts'
import { openLoop } from './lib/load.ts'
import { type LatencyResult, latencyMarkdown, type ThroughputResult, writeResult } from './lib/report.ts'
import { type Say, Session } from './lib/session.ts'
import { median } from './lib/stats.ts'

/** The throughput the arrival rates are fractions of: --rate, or the completed orders/s of the last throughput run. */
function baseRate(options: BenchOptions, bus: 'kafka' | 'memory'): { rate: number; from: string } {
  if (options.rate > 0) return { rate: options.rate, from: '--rate' }
  const file = join(options.out, 'throughput.json')
  if (!existsSync(file)) throw new Error(`no ${file}: run 'bun bench throughput' first, or give --rate`)
  const previous = JSON.parse(readFileSync(file, 'utf8')) as ThroughputResult
  const run = previous.runs.find((r) => r.bus === bus)
  if (!run || run.pipeline.completedPerSecond <= 0) throw new Error(`${file} has no ${bus} pipeline figures: run 'bun bench throughput --bus=${bus}' first, or give --rate`)
  return { rate: run.pipeline.completedPerSecond, from: `completed orders/s of ${file}, ${previous.startedAt}` }
}

/**
 * `bun bench latency`: an open loop (arrivals at a fixed rate, whatever the answers take) at
 * fractions of the throughput found before, on the first bus of --bus. Latency counts from when a
 * request was due, so a slow answer delays no later arrival and hides nothing.
 */
export async function latency(options: BenchOptions, say: Say): Promise<{ result: LatencyResult; files: string[] }> {
  const bus = options.bus.split(',')[0] as 'kafka' | 'memory'
  const base = baseRate(options, bus)
  const fractions = options.fractions.split(',').map(Number)
  const startedAt = new Date().toISOString()
  const { binary, broker } = benchEnvironment(options, say, bus === 'kafka')
  try {
    const rounds = options.latencyRounds
    const orders = rounds * fractions.reduce((n, f) => n + Math.ceil(base.rate * f * options.durationS), 0) + options.warmup
    const session = await Session.start(bus, [binary], broker, options, say, orders)
    const steps: LatencyResult['steps'] = []
    try {
      for (let round = 1; round <= rounds; round++) {
        for (const fraction of fractions) {
          const rate = base.rate * fraction
          const which = `${Math.round(fraction * 100)}%${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}`
          say(`${bus} latency: ${which} of ${base.rate} = ${Math.round(rate)} orders/s for ${options.durationS} s`)
          const measured = await session.measure(`${bus} at ${which}`, (target, live) => openLoop(target, rate, options.durationS * 1000, options.maxInFlight, live))
          steps.push({ round, fraction, rate, ...measured })
        }
      }
    } finally {
      await session.stop()
    }
    const result: LatencyResult = {
      bench: 'latency',
      startedAt,
      machine: machine(broker?.version ?? null),
      options: { ...options },
      bus,
      baseRate: base.rate,
      baseRateFrom: base.from,
      steps,
      medians: rounds > 1 ? fractions.map((fraction) => medianOf(steps.filter((s) => s.fraction === fraction))) : [],
    }
    return { result, files: writeResult(options.out, 'latency', result, latencyMarkdown(result)) }
  } finally {
    await broker?.stop()
  }
}

/** One load's figures over its rounds (see LatencyResult's `medians`). */
function medianOf(steps: LatencyResult['steps']): LatencyResult['medians'][number] {
  const of = (figure: (step: LatencyResult['steps'][number]) => number) => median(steps.map(figure))
  const notified = (p: 'p50' | 'p95' | 'p99' | 'max') => of((s) => s.pipeline.toNotified[p])
  const busy = steps.map((s) => s.machineBusyPercent)
  return {
    fraction: steps[0]!.fraction,
    rounds: steps.length,
    completedPerSecond: of((s) => s.pipeline.completedPerSecond),
    toNotified: { p50: notified('p50'), p95: notified('p95'), p99: notified('p99'), max: notified('max') },
    machineBusyPercent: busy.every((b) => b !== null) ? median(busy) : null,
  }
}
