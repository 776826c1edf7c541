#!/usr/bin/env bun
/**
 * `bun bench <name> [options]` (package.json's "bench" script): shop's benchmarks, each measured
 * beside its baselines in the same run. `bun bench --help` lists every knob.
 */
import { latency } from './latency.ts'
import { runtimes } from './runtimes.ts'
import { UsageError, benchHelp, parseBenchArgs } from './options.ts'
import { soak } from './soak.ts'
import { stream } from './stream.ts'
import { throughput } from './throughput.ts'
import { tracing } from './tracing.ts'

const started = performance.now()
const say = (line: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`)

let parsed
try {
  parsed = parseBenchArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  process.stderr.write(`bench: ${error.message}\nRun 'bun bench --help' for the options.\n`)
  process.exit(2)
}
if (parsed.help) {
  process.stdout.write(`${benchHelp()}\n`)
  process.exit(0)
}
try {
  const benches = { throughput, latency, soak, tracing, stream, runtimes }
  const { files } = await benches[parsed.name](parsed.options, say)
  process.stdout.write(await Bun.file(files[1]).text())
  say(`wrote ${files.join(' and ')}`)
  process.exit(0)
} catch (error) {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
}
