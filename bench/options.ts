import { parseArgs } from 'node:util'

/** Every knob of `bun bench`, once: its default, its `--quick` value, its meaning. `--help` prints this table. */
interface Knob {
  name: string
  kind: 'int' | 'number' | 'string' | 'bool'
  default: string | number | boolean
  quick?: string | number | boolean
  min?: number
  max?: number
  help: string
}

const knobs = [
  { name: 'orders', kind: 'int', default: 20_000, quick: 1_500, min: 1, help: 'orders driven through the pipeline, and records through each log-layer baseline' },
  { name: 'warmup', kind: 'int', default: 20_000, quick: 200, min: 0, help: "orders sent (and completed) first and left out of the figures; after 2,000 the latency bench's first round read 1.5 to 4.2x the p50 of its last one, after 20,000 0.7 to 1.2x (docs/performance.md, \"Latency in rounds\")" },
  { name: 'users', kind: 'int', default: 10_000, min: 1, help: 'distinct user ids (the order key: spreads orders.created over partitions)' },
  { name: 'skus', kind: 'int', default: 200, min: 1, help: 'distinct SKUs in stock (spread over inventory partitions)' },
  { name: 'max-lines', kind: 'int', default: 4, min: 1, max: 100, help: 'lines per order, 1 to this, uniformly' },
  { name: 'out-of-stock', kind: 'number', default: 0.1, min: 0, max: 1, help: 'share of orders that ask for a sold-out SKU (and so fail, releasing their other lines)' },
  { name: 'concurrency', kind: 'int', default: 64, quick: 32, min: 1, help: 'requests in flight from the closed-loop load generator' },
  { name: 'partitions', kind: 'int', default: 6, min: 1, help: 'partitions of every topic' },
  { name: 'batch-max-records', kind: 'int', default: 500, min: 1, help: "records per actor transaction at most (shop's --batch-max-records)" },
  { name: 'batch-linger-ms', kind: 'int', default: 0, min: 0, help: "transaction interval: how long an idle actor waits for more records before it commits (shop's --batch-linger-ms)" },
  { name: 'bus', kind: 'string', default: 'kafka,memory', help: 'pipelines to run: kafka, memory or both (memory needs no broker and skips raw Kafka)' },
  { name: 'brokers', kind: 'string', default: '', help: 'a Kafka to use (host:port,...); default: start the local broker of scripts/kafka.sh on port 29092 and stop it after' },
  { name: 'deploy', kind: 'string', default: 'api;order,inventory;notifier,aggregator', help: 'processes of the Kafka pipeline, separated by ";", each a list of roles' },
  { name: 'keep-topics', kind: 'bool', default: false, help: "keep this run's topics (all named bench-<run id>-…) on the broker; default: deleted when the run ends, so that runs do not pile up partitions that slow the broker down" },
  { name: 'shop', kind: 'string', default: '', help: 'the shop binary to run; default: build ./shop from this checkout' },
  { name: 'profile', kind: 'bool', default: false, help: 'CPU-profile every shop process (Bun --cpu-prof); profiles and their hottest functions go to <out>/profiles/' },
  { name: 'log-level', kind: 'string', default: 'info', help: "shop's --log-level; each process's log is kept in <out>/logs/ (debug logs every actor transaction with its timings)" },
  { name: 'out', kind: 'string', default: 'bench/results', help: 'where the JSON and Markdown results are written' },
  { name: 'seed', kind: 'int', default: 1, help: 'seed of the order generator (same seed, same orders)' },
  { name: 'drain-timeout-ms', kind: 'int', default: 120_000, quick: 30_000, min: 1_000, help: 'how long to wait for the last notifications after the last order is accepted' },
  { name: 'rate', kind: 'number', default: 0, min: 0, help: 'latency: the throughput (orders/s) the arrival rates are fractions of; default: completed orders/s of <out>/throughput.json' },
  { name: 'fractions', kind: 'string', default: '0.25,0.5,0.75', help: 'latency: arrival rates as fractions of --rate' },
  { name: 'duration-s', kind: 'int', default: 20, quick: 5, min: 1, help: 'latency: seconds of arrivals per rate' },
  { name: 'latency-rounds', kind: 'int', default: 1, min: 1, max: 10, help: 'latency: rounds of the rates above, one after another on the same processes; with more than one, each load is also given as the median of its rounds: on a shared machine one step\'s p99 moves by half' },
  { name: 'max-in-flight', kind: 'int', default: 5_000, min: 1, help: 'latency: requests in flight at most; an arrival beyond it is counted as dropped, not delayed' },
  { name: 'log-records', kind: 'int', default: 100_000, quick: 1_500, min: 1, help: "throughput: records through the log layer alone (produce, consume, consume-copy-produce); long enough that a group's start does not set the rate" },
  { name: 'soak-orders', kind: 'int', default: 100_000, quick: 4_000, min: 10, help: 'soak: orders driven after the warm-up, in --soak-chunks equal parts' },
  { name: 'soak-chunks', kind: 'int', default: 10, min: 5, max: 100, help: 'soak: parts of the soak; memory is read after each, the stateful process restarts after the second and the last' },
  { name: 'soak-window-ms', kind: 'int', default: 5_000, min: 1_000, help: "soak: shop's --dedup-window-ms (and --idempotency-ttl-ms): how long a finished order's state is kept" },
  { name: 'soak-deploy', kind: 'string', default: 'api;order,inventory,notifier;payment,warehouse,shipper,projector', help: 'soak: the processes, as --deploy; every order lives to its end, so its state can go' },
  { name: 'stream-orders', kind: 'int', default: 50_000, quick: 3_000, min: 1, help: 'stream: orders pre-filled in orders.created, drained by shop and by each Kafka Streams run' },
  { name: 'shop-workers', kind: 'string', default: '1,2', help: "stream: the shop runs, by their --workers (1: the roles in one process), each on its own copy of the orders" },
  { name: 'anchor-threads', kind: 'string', default: '1,2', help: 'stream: the Kafka Streams runs, by their num.stream.threads' },
  { name: 'stream-rounds', kind: 'int', default: 1, min: 1, max: 10, help: "stream: rounds of the runs above, one after another (shop's first in the odd rounds, Kafka Streams' first in the even ones), each shop run on its own copy of the orders; the ratios are given per round and, with more than one, as their median: on a shared machine one run's ratio moves by a fifth" },
  { name: 'quick', kind: 'bool', default: false, help: 'a smoke run of under a minute: the smaller values above (quick: ...)' },
] as const satisfies readonly Knob[]

type KnobName = (typeof knobs)[number]['name']
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S
type KnobValue<K> = K extends { kind: 'bool' } ? boolean : K extends { kind: 'string' } ? string : number
export type BenchOptions = { [K in (typeof knobs)[number] as Camel<K['name']>]: KnobValue<K> }

const camel = (name: string) => name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())

/** A bad command line: main prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {}

export const benchNames = ['throughput', 'latency', 'soak', 'tracing', 'stream', 'runtimes'] as const
export type BenchName = (typeof benchNames)[number]

export function parseBenchArgs(argv: string[]): { help: true } | { help: false; name: BenchName; options: BenchOptions } {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(knobs.map((k) => [k.name, { type: k.kind === 'bool' ? ('boolean' as const) : ('string' as const) }])),
      },
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  if (values.help) return { help: true }
  const [name, ...extra] = parsed.positionals
  if (!name) throw new UsageError(`name a benchmark: ${benchNames.join(' or ')}`)
  if (!(benchNames as readonly string[]).includes(name)) throw new UsageError(`unknown benchmark "${name}" (there are: ${benchNames.join(', ')})`)
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`)
  const quick = values.quick === true
  const options: Record<string, unknown> = {}
  for (const knob of knobs as readonly Knob[]) {
    const given = values[knob.name]
    const fallback = quick && knob.quick !== undefined ? knob.quick : knob.default
    options[camel(knob.name)] = given === undefined ? fallback : convert(knob, given)
  }
  const result = options as BenchOptions
  for (const bus of result.bus.split(',')) if (bus !== 'kafka' && bus !== 'memory') throw new UsageError(`--bus: "${bus}" is neither kafka nor memory`)
  for (const f of result.fractions.split(',')) if (!(Number(f) > 0)) throw new UsageError(`--fractions: "${f}" is not a positive number`)
  for (const w of result.shopWorkers.split(',')) if (!(Number.isInteger(Number(w)) && Number(w) > 0 && Number(w) <= 64)) throw new UsageError(`--shop-workers: "${w}" is not an integer from 1 to 64`)
  for (const t of result.anchorThreads.split(',')) if (!(Number.isInteger(Number(t)) && Number(t) > 0)) throw new UsageError(`--anchor-threads: "${t}" is not a positive integer`)
  return { help: false, name: name as BenchName, options: result }
}

function convert(knob: Knob, raw: string | boolean): string | number | boolean {
  if (knob.kind === 'bool' || knob.kind === 'string') return raw
  const value = Number(raw)
  if (raw === '' || !Number.isFinite(value) || (knob.kind === 'int' && !Number.isInteger(value))) {
    throw new UsageError(`--${knob.name}: "${raw}" is not ${knob.kind === 'int' ? 'an integer' : 'a number'}`)
  }
  if (knob.min !== undefined && value < knob.min) throw new UsageError(`--${knob.name}: ${value} is below ${knob.min}`)
  if (knob.max !== undefined && value > knob.max) throw new UsageError(`--${knob.name}: ${value} is above ${knob.max}`)
  return value
}

export function benchHelp(): string {
  const rows = (knobs as readonly Knob[]).map((k) => {
    const flag = k.kind === 'bool' ? `--${k.name}` : `--${k.name}=${k.kind === 'string' ? 'S' : 'N'}`
    const defaults = k.kind === 'bool' ? '' : ` (default ${JSON.stringify(k.default)}${k.quick !== undefined ? `, quick: ${k.quick}` : ''})`
    return `  ${flag.padEnd(24)} ${k.help}${defaults}`
  })
  return [
    'usage: bun bench <throughput|latency|soak|tracing|stream|runtimes> [options]',
    '',
    '  throughput  closed-loop orders over HTTP through shop on Kafka (and on the memory bus), beside raw Kafka,',
    '              the log layer alone and a bare Elysia endpoint measured in the same run',
    '  latency     open-loop orders at fixed arrival rates (fractions of the throughput found before)',
    '  soak        --soak-orders orders through every role on the first --bus: memory after each part, and on',
    '              Kafka the restore time of a restart early and at the end, to show state bounded by the window',
    '  tracing     the throughput load on the first --bus with tracing off, sampling 1%, sampling 100%,',
    '              and off again (OTLP to a collector in the bench process): what traces cost',
    '  stream      shop\'s stream core (an order,inventory process) and the same topology in Kafka Streams',
    '              (bench/anchors/kafka-streams) draining the same pre-filled orders on one broker',
    '  runtimes    the throughput load on each --bus through shop on Bun (the compiled binary) and on Deno',
    '              (deno run on the source), one after the other: Deno\'s throughput and CPU per order against Bun\'s',
    '',
    'options:',
    ...rows,
    '  --help                   this text',
  ].join('\n')
}
