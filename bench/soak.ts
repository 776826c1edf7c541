import type { BenchOptions } from './options.ts'
import { benchEnvironment, machine } from './lib/environment.ts'
import { closedLoop } from './lib/load.ts'
import { type Ratio, type SoakResult, soakMarkdown, writeResult } from './lib/report.ts'
import { type Restore, type Say, Session } from './lib/session.ts'
import { ratio } from './lib/stats.ts'

/** The part after which the memory baseline is read: two parts after the early restart, more than a window of traffic. */
const memoryBasePart = 4

/**
 * `bun bench soak`: does state stop growing? Every role runs on the first --bus with a short
 * --dedup-window-ms, so each finished order's state is deleted a window later. The soak drives
 * --soak-orders orders in parts and, once every order of a part has ended (every group caught
 * up), reads each process's RSS. On Kafka the stateful process is restarted after the second
 * part (the baseline) and after the last, and its partition actors report what they restored and
 * how long it took. Flat memory and an equal restore, with five times the history behind the
 * second, are the claim; the ratios say how close. On the memory bus every role runs in one
 * process (a restart would start it empty), whose topics keep records for the window too
 * (--memory-retention-ms): its memory is the claim.
 */
export async function soak(options: BenchOptions, say: Say): Promise<{ result: SoakResult; files: string[] }> {
  const startedAt = new Date().toISOString()
  const bus = options.bus.split(',')[0] as 'kafka' | 'memory'
  const { binary, broker } = benchEnvironment(options, say, bus === 'kafka')
  try {
    const window = `${options.soakWindowMs}`
    const flags = [`--dedup-window-ms=${window}`, `--idempotency-ttl-ms=${window}`, '--warehouse-pick-ms=10']
    // The memory bus's settle reads the process's own lag gauges: sampled often enough not to hold it up.
    if (bus === 'memory') flags.push(`--memory-retention-ms=${window}`, '--lag-sample-ms=500')
    const deployed = { ...options, deploy: options.soakDeploy }
    const session = await Session.start(bus, [binary], broker, deployed, say, options.warmup + options.soakOrders, flags)
    const stateful = session.pipeline.members.find((m) => m.roles.split(',').includes('order'))
    if (!stateful) throw new Error('--soak-deploy: no process runs the order role')
    const parts: SoakResult['parts'] = []
    let early: (Restore & { ordersBefore: number }) | undefined
    let orders = options.warmup
    const perPart = Math.ceil(options.soakOrders / options.soakChunks)
    try {
      for (let part = 1; part <= options.soakChunks; part++) {
        const measured = await session.measure(`soak ${part}/${options.soakChunks}`, (target, live) => closedLoop(target, perPart, options.concurrency, live))
        orders += measured.pipeline.accepted
        await session.settle()
        const rssMb = session.rss()
        parts.push({ orders, completedPerSecond: measured.pipeline.completedPerSecond, missing: measured.pipeline.missing, rssMb })
        say(`soak ${part}/${options.soakChunks}: ${orders} orders so far; RSS MB ${JSON.stringify(rssMb)}`)
        if (part === 2 && bus === 'kafka') {
          early = { ...(await session.restart(stateful)), ordersBefore: orders }
          say(`soak: early restart restored ${early.entries} entries in ${early.slowestMs} ms (slowest actor)`)
        }
      }
      let restores: SoakResult['restores']
      if (bus === 'kafka') {
        const end = { ...(await session.restart(stateful)), ordersBefore: orders }
        say(`soak: end restart restored ${end.entries} entries in ${end.slowestMs} ms (slowest actor)`)
        restores = { early: early!, end }
      }
      const result: SoakResult = {
        bench: 'soak',
        startedAt,
        machine: machine(broker?.version ?? null),
        options: { ...options },
        bus,
        parts,
        ...(restores ? { restores } : {}),
        ratios: ratios(parts, restores),
      }
      return { result, files: writeResult(options.out, 'soak', result, soakMarkdown(result)) }
    } finally {
      await session.stop()
    }
  } finally {
    await broker?.stop()
  }
}

function ratios(parts: SoakResult['parts'], restores: SoakResult['restores']): Ratio[] {
  const base = parts[Math.min(memoryBasePart, parts.length) - 1]!
  const last = parts[parts.length - 1]!
  const memory = Object.keys(last.rssMb).map((process) => ({
    name: `RSS of ${process}: end / part ${Math.min(memoryBasePart, parts.length)}`,
    measured: `after ${last.orders} orders: ${last.rssMb[process]} MB`,
    baseline: `after ${base.orders} orders: ${base.rssMb[process]} MB`,
    value: ratio(last.rssMb[process]!, base.rssMb[process]),
  }))
  if (!restores) return memory
  const { early, end } = restores
  return [
    {
      name: 'history at the end / at the early restart',
      measured: `orders before the end restart: ${end.ordersBefore}`,
      baseline: `before the early restart: ${early.ordersBefore}`,
      value: ratio(end.ordersBefore, early.ordersBefore),
    },
    ...memory,
    {
      name: 'entries restored: end / early restart',
      measured: `${end.entries} entries`,
      baseline: `${early.entries} entries`,
      value: ratio(end.entries, early.entries),
    },
    {
      name: 'slowest partition restore: end / early restart',
      measured: `${end.slowestMs} ms`,
      baseline: `${early.slowestMs} ms`,
      value: ratio(end.slowestMs, early.slowestMs),
    },
  ]
}
