import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { HopTiming } from './hops.ts'
import { round } from './stats.ts'
import type { RequestTimes } from './broker-requests.ts'

/** The shape of bench/results/*.json: what a run measured, and the baselines beside it. */
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const Count = Type.Integer({ minimum: 0 })
const Ms = Type.Number({ minimum: 0 })

export const Percentiles = Type.Object({ count: Count, p50: Ms, p95: Ms, p99: Ms, max: Ms }, { additionalProperties: false })
export const Rate = Type.Object({ count: Count, perSecond: Count, latencyMs: Percentiles }, { additionalProperties: false })
/** A rate pooled over rounds (bench/lib/baselines.ts logTransform), with each round's records/s in the order run. */
const PooledRate = Type.Object({ count: Count, perSecond: Count, latencyMs: Percentiles, rounds: Type.Array(Count, { minItems: 1 }) }, { additionalProperties: false })
const Machine = Type.Object({ cpus: Count, cpuModel: Type.String(), memoryGb: Count, bun: Type.String(), kafka: Nullable(Type.String()) }, { additionalProperties: false })
const ProcessUsage = Type.Object(
  { name: Type.String(), pid: Count, cpuPercent: Ms, cpuSeconds: Ms, cpuPeakPercent: Ms, rssPeakMb: Ms, rssEndMb: Ms, waitPercent: Ms },
  { additionalProperties: false },
)
/** A shop process's event-loop delay during a measurement (see bench/lib/event-loop.ts). */
const EventLoopDelay = Type.Object({ name: Type.String(), p99Ms: Ms, maxMs: Ms }, { additionalProperties: false })
const GroupLag = Type.Object({ group: Type.String(), max: Type.Integer(), end: Type.Integer() }, { additionalProperties: false })
const Bus = Type.Union([Type.Literal('kafka'), Type.Literal('memory')])

/** What the load generator and the notifier's output saw of one pipeline run. */
export const PipelineFigures = Type.Object(
  {
    sent: Count,
    accepted: Count,
    refused: Type.Record(Type.String(), Count),
    dropped: Count,
    completed: Count,
    /** Accepted orders with no notification when the drain timed out. */
    missing: Count,
    outcomes: Type.Record(Type.String(), Count),
    acceptedPerSecond: Count,
    completedPerSecond: Count,
    seconds: Ms,
    toAccepted: Percentiles,
    toNotified: Percentiles,
    /**
     * Offsets the run added to all of shop's topics (records and transaction markers) per accepted
     * order: what the broker stored for each order. Null where not measured (memory bus, baselines).
     */
    logAppendsPerOrder: Nullable(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
)

export const Ratio = Type.Object(
  { name: Type.String(), measured: Type.String(), baseline: Type.String(), value: Nullable(Type.Number()) },
  { additionalProperties: false },
)

/** What every bench result starts with: which bench, when, on what machine, with which options. */
const resultHeader = <B extends string>(bench: B) => ({
  bench: Type.Literal(bench),
  startedAt: Type.String(),
  machine: Machine,
  options: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
})

const ConsumeRate = Type.Object({ count: Count, perSecond: Count }, { additionalProperties: false })
const TransactionPair = Type.Object({ shop: Rate, javaRetry: Rate }, { additionalProperties: false })

/**
 * The requests the broker answered during a measurement, by type (Kafka's RequestsPerSec meters,
 * read over JMX; bench/tools/BrokerRequests.java). Null on the memory bus, for a broker elsewhere,
 * or without a JDK here.
 */
const BrokerRequestCounts = Nullable(Type.Record(Type.String(), Type.Integer({ minimum: 1 })))
/**
 * The broker's mean time per request of each type it answered during a measurement, in ms
 * (Kafka's request time histograms; see RequestTally in broker-requests.ts). Null as above.
 */
const BrokerRequestTimes = Nullable(Type.Record(Type.String(), Type.Object({ totalMs: Ms, queueMs: Ms, localMs: Ms, remoteMs: Ms }, { additionalProperties: false })))

export const ThroughputResult = Type.Object(
  {
    ...resultHeader('throughput'),
    /** Key + value + header bytes of one orders.created record: the raw Kafka baseline's record size. */
    recordBytes: Count,
    baselines: Type.Object({ bareElysia: PipelineFigures, rawKafka: Nullable(Rate) }, { additionalProperties: false }),
    runs: Type.Array(
      Type.Object(
        {
          bus: Bus,
          pipeline: PipelineFigures,
          log: Type.Object(
            {
              produce: Rate,
              /** The group consumer on what `produce` wrote, from its assignment to the last record. */
              consume: ConsumeRate,
              /** Kafka's ConsumerPerformance on the same records (Kafka only). */
              rawConsume: Nullable(ConsumeRate),
              /** Consume-copy-produce, in alternating rounds with exactly-once (A B B A), pooled. */
              atLeastOnce: PooledRate,
              exactlyOnce: PooledRate,
              /** Back-to-back transactions (Kafka only): shop's retry of CONCURRENT_TRANSACTIONS and the Java client's flat 20 ms. */
              transactions: Nullable(
                Type.Object({ single: TransactionPair, perPartition: TransactionPair }, { additionalProperties: false }),
              ),
            },
            { additionalProperties: false },
          ),
          processes: Type.Array(ProcessUsage),
          /** How busy the whole machine was during the measured load, in % of all its cores. */
          machineBusyPercent: Nullable(Type.Number({ minimum: 0 })),
          /** Null on the memory bus: its groups live inside one process, out of sight of an admin client. */
          lag: Nullable(Type.Array(GroupLag)),
          /** Empty unless --log-level=debug. */
          hops: Type.Array(HopTiming),
          brokerRequests: BrokerRequestCounts,
          brokerRequestTimes: BrokerRequestTimes,
          /** Each shop process's event-loop delay meanwhile. */
          eventLoop: Type.Array(EventLoopDelay),
          profiles: Nullable(Type.Record(Type.String(), Type.Array(Type.String()))),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    ratios: Type.Array(Ratio),
  },
  { additionalProperties: false },
)
export type ThroughputResult = Static<typeof ThroughputResult>
export type PipelineFigures = Static<typeof PipelineFigures>
export type Ratio = Static<typeof Ratio>

export const LatencyResult = Type.Object(
  {
    ...resultHeader('latency'),
    bus: Bus,
    /** The throughput the arrival rates are fractions of, and where it came from. */
    baseRate: Type.Number({ exclusiveMinimum: 0 }),
    baseRateFrom: Type.String(),
    steps: Type.Array(
      Type.Object(
        {
          /** Which of the --latency-rounds this step was (1 when there is one). */
          round: Type.Integer({ minimum: 1 }),
          fraction: Type.Number(),
          rate: Type.Number(),
          pipeline: PipelineFigures,
          /** The processes' CPU and memory during the step (the broker's when it runs here). */
          processes: Type.Array(ProcessUsage),
          /** How busy the whole machine was during the step, in % of all its cores. */
          machineBusyPercent: Nullable(Type.Number({ minimum: 0 })),
          lag: Nullable(Type.Array(GroupLag)),
          hops: Type.Array(HopTiming),
          brokerRequests: BrokerRequestCounts,
          brokerRequestTimes: BrokerRequestTimes,
          /** Each shop process's event-loop delay meanwhile. */
          eventLoop: Type.Array(EventLoopDelay),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    /**
     * With more than one round: per load, the median over the rounds of its completed orders/s, of
     * each POST -> notification percentile (the median of the rounds' p99s, not the p99 of their
     * samples pooled: one disturbed round moves it no more than any other) and of the machine's
     * busy %. Empty with one round.
     */
    medians: Type.Array(
      Type.Object(
        {
          fraction: Type.Number(),
          rounds: Type.Integer({ minimum: 2 }),
          completedPerSecond: Type.Number({ minimum: 0 }),
          toNotified: Type.Object({ p50: Ms, p95: Ms, p99: Ms, max: Ms }, { additionalProperties: false }),
          machineBusyPercent: Nullable(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type LatencyResult = Static<typeof LatencyResult>

export const TracingResult = Type.Object(
  {
    ...resultHeader('tracing'),
    bus: Bus,
    runs: Type.Array(
      Type.Object(
        {
          label: Type.Union([Type.Literal('off'), Type.Literal('1%'), Type.Literal('100%'), Type.Literal('off again')]),
          pipeline: PipelineFigures,
          processes: Type.Array(ProcessUsage),
          /** OTLP exports the bench's collector received during the run (start, warm-up and stop included), and their size. */
          exports: Count,
          exportedKb: Ms,
        },
        { additionalProperties: false },
      ),
      { minItems: 4, maxItems: 4 },
    ),
    ratios: Type.Array(Ratio),
  },
  { additionalProperties: false },
)
export type TracingResult = Static<typeof TracingResult>

/** `bun bench stream`: shop's stream core and the Kafka Streams anchor draining the same pre-filled orders. */
export const StreamResult = Type.Object(
  {
    ...resultHeader('stream'),
    runs: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          /** When the processor was started (ISO 8601): the order the runs drained in. */
          startedAt: Type.String(),
          orders: Count,
          reserved: Count,
          failed: Count,
          /** From the processor's start to its last order's outcome. */
          seconds: Ms,
          /** From the processor's start to its first outcome (start-up, group join, restore). */
          firstOutcomeMs: Ms,
          ordersPerSecond: Count,
          ordersPerSecondAfterFirst: Count,
          processes: Type.Array(ProcessUsage),
          /** CPU time per order of each process over the run (% of one core x seconds / orders). */
          cpuMsPerOrder: Type.Array(Type.Object({ name: Type.String(), ms: Ms }, { additionalProperties: false })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    ratios: Type.Array(Ratio),
  },
  { additionalProperties: false },
)
export type StreamResult = Static<typeof StreamResult>

const Restore = Type.Object(
  { process: Type.String(), actors: Count, wallMs: Ms, slowestMs: Ms, entries: Count, inMemory: Count, replayed: Count, ordersBefore: Count },
  { additionalProperties: false },
)

export const SoakResult = Type.Object(
  {
    ...resultHeader('soak'),
    bus: Type.Union([Type.Literal('kafka'), Type.Literal('memory')]),
    /** After each part: orders so far (warm-up included), that part's pace, and each process's RSS once every group caught up. */
    parts: Type.Array(
      Type.Object({ orders: Count, completedPerSecond: Count, missing: Count, rssMb: Type.Record(Type.String(), Ms) }, { additionalProperties: false }),
      { minItems: 1 },
    ),
    /** On Kafka: the stateful process restarted after the second part (the baseline) and after the last. */
    restores: Type.Optional(Type.Object({ early: Restore, end: Restore }, { additionalProperties: false })),
    ratios: Type.Array(Ratio),
  },
  { additionalProperties: false },
)
export type SoakResult = Static<typeof SoakResult>

const n = (v: number) => v.toLocaleString('en-US')
const ms = (p: Omit<Static<typeof Percentiles>, 'count'>) => `${p.p50} / ${p.p95} / ${p.p99} / ${p.max}`

/** The back-to-back transaction rows of a run (counts and rates are of transactions, latency per transaction). */
function transactionRows(bus: string, t: Static<typeof ThroughputResult>['runs'][number]['log']['transactions']): string[][] {
  if (!t) return []
  return (['single', 'perPartition'] as const).flatMap((name) =>
    (['javaRetry', 'shop'] as const).map((who) => [
      `${bus}: back-to-back transactions of 10, ${name === 'single' ? 'one producer' : 'one producer per partition'}, ${who === 'shop' ? "shop's retry" : "the Java client's 20 ms retry"} (transactions)`,
      n(t[name][who].count),
      n(t[name][who].perSecond),
      ms(t[name][who].latencyMs),
    ]),
  )
}
const table = (head: string[], rows: Array<Array<string | number>>) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')

/** Every report's first section: its ratios, each measured beside its baseline in the same run. */
const ratioSection = (ratios: Ratio[]) => [
  '## Ratios (measured in this run)',
  '',
  table(['ratio', 'measured', 'baseline', 'value'], ratios.map((x) => [x.name, x.measured, x.baseline, x.value === null ? '-' : `**${x.value}**`])),
  '',
]
const optionList = (options: Record<string, string | number | boolean>) => Object.entries(options).map(([k, v]) => `${k}=${v}`).join(', ')

const pipelineRow = (label: string, p: PipelineFigures) => [
  label,
  n(p.accepted),
  n(p.acceptedPerSecond),
  n(p.completed),
  n(p.completedPerSecond),
  ms(p.toAccepted),
  p.completed > 0 ? ms(p.toNotified) : '-',
  p.missing + p.dropped + Object.values(p.refused).reduce((a, b) => a + b, 0),
  p.logAppendsPerOrder ?? '-',
]
const pipelineHead = ['run', 'accepted', 'accepted/s', 'completed', 'completed/s', 'POST→202 ms p50/p95/p99/max', 'POST→notified ms p50/p95/p99/max', 'refused+dropped+missing', 'log appends/order']

export function throughputMarkdown(r: ThroughputResult): string {
  const lines = [
    `# shop throughput, ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGb} GiB; Bun ${r.machine.bun}; Kafka ${r.machine.kafka ?? '-'}. ` +
      `Options: ${optionList(r.options)}. One orders.created record: ${r.recordBytes} bytes (key + value + headers).`,
    '',
    ...ratioSection(r.ratios),
    '## Pipeline and HTTP',
    '',
    table(pipelineHead, [...r.runs.map((run) => pipelineRow(`shop on ${run.bus}`, run.pipeline)), pipelineRow('bare Elysia (202, no work)', r.baselines.bareElysia)]),
    '',
    '## Log layer (records/s; latency per send or per committed batch)',
    '',
    table(
      ['path', 'records', 'records/s', 'latency ms p50/p95/p99/max'],
      [
        ...(r.baselines.rawKafka ? [['raw Kafka: ProducerPerformance, acks=all, idempotent', n(r.baselines.rawKafka.count), n(r.baselines.rawKafka.perSecond), ms(r.baselines.rawKafka.latencyMs)]] : []),
        ...r.runs.flatMap((run) => [
          [`${run.bus}: produce, one record per send()`, n(run.log.produce.count), n(run.log.produce.perSecond), ms(run.log.produce.latencyMs)],
          ...(run.log.rawConsume ? [['raw Kafka: ConsumerPerformance, read_committed, the same records', n(run.log.rawConsume.count), n(run.log.rawConsume.perSecond), '-']] : []),
          [`${run.bus}: consume, group consumer`, n(run.log.consume.count), n(run.log.consume.perSecond), '-'],
          [`${run.bus}: consume-copy-produce, at-least-once (rounds: ${run.log.atLeastOnce.rounds.map(n).join(' / ')})`, n(run.log.atLeastOnce.count), n(run.log.atLeastOnce.perSecond), ms(run.log.atLeastOnce.latencyMs)],
          [`${run.bus}: consume-copy-produce, exactly-once (rounds: ${run.log.exactlyOnce.rounds.map(n).join(' / ')})`, n(run.log.exactlyOnce.count), n(run.log.exactlyOnce.perSecond), ms(run.log.exactlyOnce.latencyMs)],
          ...transactionRows(run.bus, run.log.transactions),
        ]),
      ],
    ),
    '',
    '## Processes during the measured load (CPU in % of one core)',
    '',
    `The whole machine meanwhile: ${r.runs.map((run) => `${run.bus} ${run.machineBusyPercent ?? '-'}%`).join(', ')} of its ${r.machine.cpus} cores busy.`,
    '',
    table(
      ['run', 'process', 'CPU avg', 'CPU peak', 'RSS peak MB', 'RSS end MB', 'waited for a core %'],
      r.runs.flatMap((run) => run.processes.map((p) => [run.bus, p.name, p.cpuPercent, p.cpuPeakPercent, p.rssPeakMb, p.rssEndMb, p.waitPercent])),
    ),
  ]
  for (const run of r.runs) {
    if (!run.lag) continue
    lines.push('', `## Consumer lag on ${run.bus} (offsets, transaction markers included)`, '', table(['group', 'max', 'at the end'], run.lag.map((g) => [g.group, n(g.max), n(g.end)])))
  }
  lines.push(...eventLoopSection('bus', r.runs.map((run) => ({ label: run.bus, delays: run.eventLoop }))))
  lines.push(...requestsSection('bus', r.runs.map((run) => ({ label: run.bus, requests: run.brokerRequests, times: run.brokerRequestTimes, orders: run.pipeline.completed }))))
  const hops = r.runs.flatMap((run) => run.hops.map((h) => ({ ...h, load: run.bus })))
  if (hops.length > 0) lines.push('', ...hopsSection('bus', hops))
  for (const run of r.runs) {
    for (const [process, rows] of Object.entries(run.profiles ?? {})) lines.push('', `## Hottest functions (self time): ${process}`, '', ...rows)
  }
  return `${lines.join('\n')}\n`
}

export function latencyMarkdown(r: LatencyResult): string {
  const percent = (fraction: number) => `${Math.round(fraction * 100)}%`
  // A step's load, and its round when there are several.
  const load = (s: LatencyResult['steps'][number]) => (r.medians.length > 0 ? `${percent(s.fraction)} (round ${s.round})` : percent(s.fraction))
  const medians =
    r.medians.length === 0
      ? []
      : [
          '',
          `## Median over ${r.medians[0]!.rounds} rounds`,
          '',
          'Per load, the median of each figure over the rounds above (of each percentile: the median of the rounds\' values).',
          '',
          table(
            ['load', 'completed/s', 'POST→notified ms p50/p95/p99/max', 'machine busy %'],
            r.medians.map((m) => [percent(m.fraction), n(m.completedPerSecond), ms(m.toNotified), m.machineBusyPercent ?? '-']),
          ),
        ]
  return [
    `# shop latency (open loop), ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.cpuModel}; Bun ${r.machine.bun}; Kafka ${r.machine.kafka ?? '-'}; bus ${r.bus}. ` +
      `Arrival rates are fractions of ${r.baseRate} orders/s (${r.baseRateFrom}); latency counts from when each request was due.`,
    '',
    table(
      ['load', 'rate/s', ...pipelineHead.slice(1)],
      r.steps.map((s) => [load(s), Math.round(s.rate), ...pipelineRow('', s.pipeline).slice(1)]),
    ),
    ...medians,
    '',
    '## CPU during each load',
    '',
    `The machine: % of its ${r.machine.cpus} cores busy, whatever ran there. Each process: % of one core (the broker's when it runs on this machine).`,
    '',
    table(
      ['load', 'machine busy %', ...r.steps[0]!.processes.map((p) => `${p.name} CPU %`)],
      r.steps.map((s) => [load(s), s.machineBusyPercent ?? '-', ...s.processes.map((p) => p.cpuPercent)]),
    ),
    '',
    "Each process's threads, ready to run but waiting for a core (the kernel's run-queue wait, summed over its threads), % of one core: on a full machine every step of an order waits this way.",
    '',
    table(
      ['load', ...r.steps[0]!.processes.map((p) => `${p.name} waited %`)],
      r.steps.map((s) => [load(s), ...s.processes.map((p) => p.waitPercent)]),
    ),
    ...eventLoopSection('load', r.steps.map((s) => ({ label: load(s), delays: s.eventLoop }))),
    ...requestsSection('load', r.steps.map((s) => ({ label: load(s), requests: s.brokerRequests, times: s.brokerRequestTimes, orders: s.pipeline.completed }))),
    '',
    ...hopsSection('load', r.steps.flatMap((s) => s.hops.map((h) => ({ ...h, load: load(s) })))),
  ].join('\n')
}

/** Each shop process's event-loop delay during each measurement (nothing when none was read). */
function eventLoopSection(label: string, runs: Array<{ label: string; delays: Array<Static<typeof EventLoopDelay>> }>): string[] {
  const names = [...new Set(runs.flatMap((run) => run.delays.map((d) => d.name)))]
  if (names.length === 0) return []
  return [
    '',
    '## Event-loop delay of each shop process (ms, p99 / max)',
    '',
    "How late the process's event loop ran meanwhile (Node's monitorEventLoopDelay, a timer every 10 ms, through prom-client's nodejs_eventloop_lag gauges): every request and record the process held waited out a delay like this.",
    '',
    table(
      [label, ...names],
      runs.map((run) => [run.label, ...names.map((name) => {
        const d = run.delays.find((delay) => delay.name === name)
        return d ? `${d.p99Ms} / ${d.maxMs}` : '-'
      })]),
    ),
  ]
}

/** The broker's requests by type during each measurement, and per order completed (nothing when they were not counted). */
function requestsSection(label: string, runs: Array<{ label: string; requests: Record<string, number> | null; times: Record<string, RequestTimes> | null; orders: number }>): string[] {
  const counted = runs.filter((run) => run.requests !== null)
  if (counted.length === 0) return []
  const types = [...new Set(counted.flatMap((run) => Object.keys(run.requests!)))]
  const total = (type: string) => counted.reduce((sum, run) => sum + (run.requests![type] ?? 0), 0)
  types.sort((a, b) => total(b) - total(a))
  const perOrder = (count: number, orders: number) => (orders > 0 ? round(count / orders, 2) : '-')
  const timed = counted.filter((run) => run.times !== null)
  return [
    '',
    "## The broker's requests (Kafka's RequestsPerSec meters over JMX, all clients, the bench's own included)",
    '',
    table(
      ['request', ...counted.flatMap((run) => [`${label} ${run.label}`, 'per order'])],
      [...types, 'all'].map((type) => [
        type,
        ...counted.flatMap((run) => {
          const count = type === 'all' ? Object.values(run.requests!).reduce((a, b) => a + b, 0) : (run.requests![type] ?? 0)
          return [n(count), perOrder(count, run.orders)]
        }),
      ]),
    ),
    ...(timed.length === 0
      ? []
      : [
          '',
          "The broker's own time per request, mean ms over the measurement (Kafka's request time histograms): total, from its network thread's read of the request to the response's send, then queue (waiting for a request handler thread) / local (handled) / remote (in purgatory: a fetch's long poll, a produce waiting for its acks). The broker records each time rounded to a whole ms, so a mean is within 0.5 ms of the true one. A client's wait beyond the total is the network, the client's own queue, and the CPU the broker's threads waited for.",
          '',
          table(
            ['request', ...timed.map((run) => `${label} ${run.label}`)],
            types.map((type) => [type, ...timed.map((run) => {
              const t = run.times![type]
              return t ? `${t.totalMs} (${t.queueMs} / ${t.localMs} / ${t.remoteMs})` : '-'
            })]),
          ),
        ]),
  ]
}

/** Where each group's transactions spent their time (nothing when shop did not log at debug level). */
function hopsSection(label: string, hops: Array<HopTiming & { load: string }>): string[] {
  if (hops.length === 0) return []
  return [
    "## Where each hop's time goes (medians, from --log-level=debug)",
    '',
    "Per partition actor batch: waited is the age of its oldest record when its handling began (the hop before, its commit, the fetch, the queue); committed runs from handled to committed (waiting for the member's transaction, then that transaction). Per transaction of the group's members: the batches it held; its sends and its offsets (side by side, each from the transaction's start); its commit.",
    '',
    table(
      [label, 'group', 'batches', 'records/batch', 'waited ms', 'handle ms', 'committed ms', 'transactions', 'batches/tx', 'send ms', 'offsets ms', 'commit ms'],
      hops.map((h) => [h.load, h.group, n(h.batches), h.recordsPerBatch, h.waitedMs, h.handleMs, h.committedMs, n(h.transactions), h.batchesPerTransaction, h.sendMs, h.offsetsMs, h.commitMs]),
    ),
    '',
  ]
}

export function soakMarkdown(r: SoakResult): string {
  const processes = Object.keys(r.parts[0]!.rssMb)
  const restore = (label: string, x: Static<typeof Restore>) => [label, n(x.ordersBefore), x.actors, n(x.entries), n(x.inMemory), n(x.replayed), n(x.slowestMs), n(x.wallMs)]
  return [
    `# shop soak, ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.cpuModel}; Bun ${r.machine.bun}; Kafka ${r.machine.kafka ?? '-'}. ` +
      `Options: ${optionList(r.options)}.`,
    '',
    ...ratioSection(r.ratios),
    `## Memory after each part, on the ${r.bus} bus (RSS MB once every order of the part ended)`,
    '',
    table(['orders so far', 'completed/s', 'missing', ...processes], r.parts.map((p) => [n(p.orders), n(p.completedPerSecond), p.missing, ...processes.map((name) => p.rssMb[name] ?? '-')])),
    '',
    ...(r.restores
      ? [
          '## Restarts of the stateful process',
          '',
          table(['restart', 'orders before', 'partition actors', 'entries restored', 'of them in memory', 'changelog records replayed', 'slowest actor ms', 'SIGTERM to restored ms'], [restore('early (baseline)', r.restores.early), restore('end', r.restores.end)]),
          '',
        ]
      : []),
  ].join('\n')
}

export function tracingMarkdown(r: TracingResult): string {
  return [
    `# shop tracing cost, ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.cpuModel}; Bun ${r.machine.bun}; Kafka ${r.machine.kafka ?? '-'}; bus ${r.bus}. ` +
      `Options: ${optionList(r.options)}. Each run starts the deployment afresh; spans go over OTLP/HTTP protobuf to a collector in the bench process.`,
    '',
    ...ratioSection(r.ratios),
    '## Pipeline',
    '',
    table([...pipelineHead, 'OTLP exports', 'exported KiB'], r.runs.map((run) => [...pipelineRow(`tracing ${run.label}`, run.pipeline), n(run.exports), n(run.exportedKb)])),
    '',
    '## Processes during the measured load (CPU in % of one core)',
    '',
    table(['tracing', 'process', 'CPU avg', 'CPU peak', 'RSS peak MB', 'RSS end MB', 'waited for a core %'], r.runs.flatMap((run) => run.processes.map((p) => [run.label, p.name, p.cpuPercent, p.cpuPeakPercent, p.rssPeakMb, p.rssEndMb, p.waitPercent]))),
    '',
  ].join('\n')
}

/** Writes `<name>.json` and `<name>.md` into `dir`. */
export function streamMarkdown(r: StreamResult): string {
  return [
    `# shop stream core beside Kafka Streams, ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGb} GiB; Bun ${r.machine.bun}; Kafka ${r.machine.kafka ?? '-'}. ` +
      `Options: ${optionList(r.options)}. Every run drains the same orders, pre-filled in orders.created, with the same stock; each run's outcomes were checked: one per order, and the same orders reserved in every run.` +
      (Number(r.options.streamRounds) > 1 ? " The rounds alternate which side drains first: shop's runs in the odd rounds (1, 3, ...), Kafka Streams' in the even ones; each round's runs are listed shop's first." : ''),
    '',
    ...ratioSection(r.ratios),
    '## Runs',
    '',
    table(
      ['processor', 'orders', 'reserved', 'failed', 'seconds', 'first outcome ms', 'orders/s', 'orders/s after the first outcome', 'CPU ms per order'],
      r.runs.map((run) => [run.name, n(run.orders), n(run.reserved), n(run.failed), run.seconds, run.firstOutcomeMs, n(run.ordersPerSecond), n(run.ordersPerSecondAfterFirst), run.cpuMsPerOrder.map((c) => `${c.name}: ${c.ms}`).join('; ')]),
    ),
    '',
    '## Processes (CPU in % of one core)',
    '',
    "A shop run is its process tree (with `--workers`, the supervisor and its workers): CPU summed over them; RSS each one's own pages plus the binary's file pages once, which the kernel holds once for all (bench/lib/sampler.ts, `treeRssMb`). CPU ms per order counts a processor's CPU from its own start, shop's start-up and Kafka Streams' JVM's included; the broker's over the drain.",
    '',
    table(['run', 'process', 'CPU avg', 'CPU peak', 'RSS peak MB', 'RSS end MB', 'waited for a core %'], r.runs.flatMap((run) => run.processes.map((p) => [run.name, p.name, p.cpuPercent, p.cpuPeakPercent, p.rssPeakMb, p.rssEndMb, p.waitPercent]))),
    '',
  ].join('\n')
}

/** `bun bench runtimes`: the same pipeline, source and load on Bun and on Deno, one after the other. */
export const RuntimesResult = Type.Object(
  {
    ...resultHeader('runtimes'),
    /** The Deno that ran shop (the `deno` npm package). */
    deno: Type.String(),
    runs: Type.Array(
      Type.Object(
        {
          runtime: Type.Union([Type.Literal('bun'), Type.Literal('deno')]),
          /** How shop was started: Bun runs the compiled binary, Deno `deno run` on the source. */
          command: Type.String(),
          bus: Bus,
          pipeline: PipelineFigures,
          processes: Type.Array(ProcessUsage),
          /** CPU milliseconds of shop's processes (broker and load generator apart) per completed order. */
          shopCpuMsPerOrder: Nullable(Ms),
        },
        { additionalProperties: false },
      ),
      { minItems: 2 },
    ),
    ratios: Type.Array(Ratio),
  },
  { additionalProperties: false },
)
export type RuntimesResult = Static<typeof RuntimesResult>

export function runtimesMarkdown(r: RuntimesResult): string {
  return [
    `# shop on Bun and on Deno, ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGb} GiB; Bun ${r.machine.bun}; Deno ${r.deno}; Kafka ${r.machine.kafka ?? '-'}. ` +
      `Options: ${optionList(r.options)}.`,
    '',
    ...ratioSection(r.ratios),
    '## Pipeline',
    '',
    table(
      [...pipelineHead, 'shop CPU ms/order', 'peak RSS MB per process'],
      r.runs.map((run) => [
        ...pipelineRow(`${run.runtime} on ${run.bus} (\`${run.command}\`)`, run.pipeline),
        run.shopCpuMsPerOrder ?? '-',
        run.processes.filter((p) => p.name.includes(':')).map((p) => `${p.name} ${p.rssPeakMb}`).join(', '),
      ]),
    ),
    '',
  ].join('\n')
}

export function writeResult(dir: string, name: string, result: unknown, markdown: string): string[] {
  mkdirSync(dir, { recursive: true })
  const files = [join(dir, `${name}.json`), join(dir, `${name}.md`)]
  writeFileSync(files[0], `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(files[1], markdown)
  return files
}
