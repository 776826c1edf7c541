import type { BenchOptions } from './options.ts'
import { benchEnvironment, machine } from './lib/environment.ts'
import { closedLoop } from './lib/load.ts'
import { type Ratio, type TracingResult, tracingMarkdown, writeResult } from './lib/report.ts'
import { type Say, Session } from './lib/session.ts'
import { ratio, round } from './lib/stats.ts'

type Run = TracingResult['runs'][number]

/** The sampling settings compared, in the order they run; tracing off runs first and last. */
const settings: Array<{ label: Run['label']; env: (collector: string) => Record<string, string> }> = [
  { label: 'off', env: () => ({}) },
  { label: '1%', env: (url) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }) },
  { label: '100%', env: (url) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }) },
  { label: 'off again', env: () => ({}) },
]

/**
 * `bun bench tracing`: what traces cost. The same closed-loop load through the same deployment,
 * started afresh with tracing off, sampling 1% of orders, sampling all of them, and off again (the
 * two runs without tracing show the noise of the machine; their mean is the baseline). A collector
 * in the bench process takes the exports (OTLP/HTTP protobuf) and counts them.
 */
export async function tracing(options: BenchOptions, say: Say): Promise<{ result: TracingResult; files: string[] }> {
  const bus = options.bus.split(',')[0] as 'kafka' | 'memory'
  const startedAt = new Date().toISOString()
  const { binary, broker } = benchEnvironment(options, say, bus === 'kafka')
  const received = { exports: 0, bytes: 0 }
  const collector = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      received.exports++
      received.bytes += (await request.arrayBuffer()).byteLength
      return new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
    },
  })
  try {
    const runs: Run[] = []
    for (const { label, env } of settings) {
      const before = { ...received }
      const session = await Session.start(bus, [binary], broker, options, (line) => say(`[tracing ${label}] ${line}`), options.orders + options.warmup, [], env(`http://127.0.0.1:${collector.port}`))
      const measured = await session
        .measure(`${bus} pipeline, tracing ${label}`, (target, live) => closedLoop(target, options.orders, options.concurrency, live))
        .finally(() => session.stop())
      runs.push({ label, pipeline: measured.pipeline, processes: measured.processes, exports: received.exports - before.exports, exportedKb: round((received.bytes - before.bytes) / 1024) })
    }
    const result: TracingResult = { bench: 'tracing', startedAt, machine: machine(broker?.version ?? null), options: { ...options }, bus, runs, ratios: ratios(runs) }
    return { result, files: writeResult(options.out, 'tracing', result, tracingMarkdown(result)) }
  } finally {
    collector.stop(true)
    await broker?.stop()
  }
}

function ratios(runs: Run[]): Ratio[] {
  const off = runs.filter((r) => r.label.startsWith('off'))
  const baseline = round(off.reduce((n, r) => n + r.pipeline.completedPerSecond, 0) / off.length)
  const offs = off.map((r) => r.pipeline.completedPerSecond).join(' and ')
  return [
    { name: 'off again / off (the noise)', measured: `completed orders/s, second run without tracing: ${off[1].pipeline.completedPerSecond}`, baseline: `first run: ${off[0].pipeline.completedPerSecond}`, value: ratio(off[1].pipeline.completedPerSecond, off[0].pipeline.completedPerSecond) },
    ...runs
      .filter((r) => !r.label.startsWith('off'))
      .map((r) => ({ name: `tracing ${r.label} / off`, measured: `completed orders/s: ${r.pipeline.completedPerSecond}`, baseline: `mean without tracing (${offs}): ${baseline}`, value: ratio(r.pipeline.completedPerSecond, baseline) })),
  ]
}
