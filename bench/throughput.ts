import { KafkaLog } from '../src/kafka/platformatic/index.ts'
import { kafkaLogDefaults } from '../src/kafka/platformatic/options.ts'
import { MemoryLog } from '../src/kafka/memory/index.ts'
import type { Log } from '../src/kafka/port.ts'
import type { BenchOptions } from './options.ts'
import { type ConsumeRate, bareElysia, logConsume, logProduce, logTransactions, logTransform, orderRecords, rawKafka, rawKafkaConsume, type Rate, recordBytes } from './lib/baselines.ts'
import { benchEnvironment, ensureTopics, machine, runPrefix } from './lib/environment.ts'
import { closedLoop, orderBodies } from './lib/load.ts'
import { type Ratio, type ThroughputResult, throughputMarkdown, writeResult } from './lib/report.ts'
import { type Say, Session, figures, mixOf } from './lib/session.ts'
import { ratio } from './lib/stats.ts'

type Run = ThroughputResult['runs'][number]

/**
 * `bun bench throughput`: shop's pipeline under a closed-loop load on each bus, and in the same run
 * the baselines that give its figures meaning (raw Kafka, the log layer alone, bare Elysia).
 */
export async function throughput(options: BenchOptions, say: Say): Promise<{ result: ThroughputResult; files: string[] }> {
  const buses = [...new Set(options.bus.split(','))] as Array<'kafka' | 'memory'>
  const startedAt = new Date().toISOString()
  const { binary, broker } = benchEnvironment(options, say, buses.includes('kafka'))
  try {
    const sample = orderRecords('orders.created', orderBodies(mixOf(options)), 200)
    const bytes = Math.round(sample.reduce((n, r) => n + recordBytes(r), 0) / sample.length)

    say(`bare Elysia: ${options.orders} requests at concurrency ${options.concurrency}`)
    const bareFigures = figures(await bareElysia(orderBodies(mixOf(options)), options.orders, options.concurrency))
    say(`bare Elysia: ${bareFigures.acceptedPerSecond} requests/s`)

    let raw: Rate | null = null
    if (broker) {
      const log = new KafkaLog({ brokers: broker.brokers, clientId: 'bench-raw' })
      const topic = `${runPrefix()}raw`
      await ensureTopics(log, [{ name: topic, partitions: options.partitions }])
      await log.close()
      say(`raw Kafka: ProducerPerformance, ${options.logRecords} records of ${bytes} bytes, acks=all, idempotent`)
      raw = await rawKafka(broker.brokers, topic, options.logRecords, bytes)
      say(`raw Kafka: ${raw.perSecond} records/s`)
    }

    const runs: Run[] = []
    for (const bus of buses) {
      const log: Log = bus === 'kafka' ? new KafkaLog({ brokers: broker!.brokers, clientId: 'bench-log' }) : new MemoryLog()
      let logFigures: Run['log']
      try {
        logFigures = { ...(await logLayer(log, broker?.brokers ?? null, options, say)), transactions: bus === 'kafka' ? await transactionPath(log, broker!.brokers, options, say) : null }
      } finally {
        await log.close()
      }
      const session = await Session.start(bus, [binary], broker, options, say, options.orders + options.warmup)
      const measured = await session
        .measure(`${bus} pipeline`, (target, live) => closedLoop(target, options.orders, options.concurrency, live))
        .catch(async (error) => {
          await session.stop()
          throw error
        })
      say(`${bus} pipeline: stopping`)
      runs.push({ bus, log: logFigures, ...measured, profiles: await session.stop() })
    }

    const result: ThroughputResult = {
      bench: 'throughput',
      startedAt,
      machine: machine(broker?.version ?? null),
      options: { ...options },
      recordBytes: bytes,
      baselines: { bareElysia: bareFigures, rawKafka: raw },
      runs,
      ratios: ratios(runs, raw, bareFigures.acceptedPerSecond),
    }
    const files = writeResult(options.out, 'throughput', result, throughputMarkdown(result))
    return { result, files }
  } finally {
    await broker?.stop()
  }
}

/** Rounds of each consume-copy-produce mode: A B B A, twice. */
const TRANSFORM_PAIRS = 2

/**
 * The project's log adapter alone: produce as the API does; consume what it produced, beside
 * Kafka's own consumer tool on the same records (Kafka only); then consume-copy-produce both ways.
 */
async function logLayer(log: Log, brokers: string[] | null, options: BenchOptions, say: Say): Promise<Omit<Run['log'], 'transactions'>> {
  const prefix = runPrefix()
  const topics = { input: `${prefix}log.in`, output: `${prefix}log.out` }
  await ensureTopics(log, Object.values(topics).map((name) => ({ name, partitions: options.partitions })))
  const records = orderRecords(topics.input, orderBodies(mixOf(options)), options.logRecords)
  say(`${log.kind} log layer: produce ${records.length} records, one per send(), ${options.concurrency} in flight`)
  const produce = await logProduce(log, records, options.concurrency)
  say(`${log.kind} log layer: ${produce.perSecond} records/s produced; consume them`)
  const consume = await logConsume(log, topics.input, records.length, `${prefix}consume`)
  say(`${log.kind} log layer: ${consume.perSecond} records/s consumed`)
  let rawConsume: ConsumeRate | null = null
  if (log.kind === 'kafka' && brokers) {
    say('raw Kafka: ConsumerPerformance on the same records, read_committed')
    rawConsume = await rawKafkaConsume(brokers, topics.input, records.length, `${prefix}raw-consume`)
    say(`raw Kafka: ${rawConsume.perSecond} records/s consumed`)
  }
  say(`${log.kind} log layer: consume-copy-produce, at-least-once and exactly-once in turn (A B B A x ${TRANSFORM_PAIRS})`)
  const { atLeastOnce, exactlyOnce } = await logTransform(log, topics.input, topics.output, records.length, `${prefix}transform`, TRANSFORM_PAIRS)
  say(`${log.kind} log layer: ${atLeastOnce.perSecond} records/s at-least-once (${atLeastOnce.rounds.join(', ')}), ${exactlyOnce.perSecond} exactly-once (${exactlyOnce.rounds.join(', ')})`)
  return { produce, consume, rawConsume, atLeastOnce, exactlyOnce }
}

/**
 * Back-to-back transactions with shop's retry of CONCURRENT_TRANSACTIONS, beside the same loop with
 * the Java client's flat 20 ms: one producer, then one per partition at once.
 */
async function transactionPath(log: Log, brokers: string[], options: BenchOptions, say: Say): Promise<NonNullable<Run['log']['transactions']>> {
  const javaRetry = new KafkaLog({ brokers, clientId: 'bench-java-retry', concurrentTransactionsRetryMs: 20 })
  const prefix = `${runPrefix()}txn`
  const topic = `${prefix}.out`
  const rounds = options.quick ? 50 : 200
  try {
    await ensureTopics(log, [{ name: topic, partitions: options.partitions }])
    const figures = {} as NonNullable<Run['log']['transactions']>
    for (const [name, producers] of [['single', 1], ['perPartition', options.partitions]] as const) {
      say(`kafka transactions: ${producers} producer(s) x ${rounds} back-to-back, the Java client's retry delay (flat 20 ms)`)
      const java = await logTransactions(javaRetry, topic, producers, rounds, `${prefix}-java-${name}`)
      say(`kafka transactions: ${java.perSecond}/s; now shop's (from ${kafkaLogDefaults.concurrentTransactionsRetryMs} ms, doubling)`)
      const shop = await logTransactions(log, topic, producers, rounds, `${prefix}-shop-${name}`)
      say(`kafka transactions: ${shop.perSecond}/s`)
      figures[name] = { shop, javaRetry: java }
    }
    return figures
  } finally {
    await javaRetry.close()
  }
}

function ratios(runs: Run[], raw: Rate | null, bare: number): Ratio[] {
  const list: Ratio[] = []
  const kafka = runs.find((r) => r.bus === 'kafka')
  const memory = runs.find((r) => r.bus === 'memory')
  for (const run of runs) {
    const p = run.pipeline
    if (run.bus === 'kafka') {
      list.push({ name: 'pipeline / raw Kafka', measured: `completed orders/s on Kafka: ${p.completedPerSecond}`, baseline: `raw Kafka records/s: ${raw?.perSecond ?? '-'}`, value: ratio(p.completedPerSecond, raw?.perSecond) })
    }
    list.push({ name: `API / bare Elysia (${run.bus})`, measured: `accepted orders/s: ${p.acceptedPerSecond}`, baseline: `bare Elysia 202/s: ${bare}`, value: ratio(p.acceptedPerSecond, bare) })
    list.push({
      name: `exactly-once / at-least-once (${run.bus} log layer)`,
      measured: `transactional consume-copy-produce records/s: ${run.log.exactlyOnce.perSecond}`,
      baseline: `at-least-once records/s: ${run.log.atLeastOnce.perSecond}`,
      value: ratio(run.log.exactlyOnce.perSecond, run.log.atLeastOnce.perSecond),
    })
    for (const [name, producers] of [['single', 'one producer'], ['perPartition', 'one producer per partition']] as const) {
      const t = run.log.transactions?.[name]
      if (!t) continue
      list.push({
        name: `back-to-back transactions, ${producers}: shop's retry / the Java client's`,
        measured: `transactions/s, CONCURRENT_TRANSACTIONS retried from ${kafkaLogDefaults.concurrentTransactionsRetryMs} ms: ${t.shop.perSecond}`,
        baseline: `retried after a flat 20 ms: ${t.javaRetry.perSecond}`,
        value: ratio(t.shop.perSecond, t.javaRetry.perSecond),
      })
    }
    if (run.log.rawConsume) {
      list.push({
        name: 'log-layer consume / raw Kafka consumer',
        measured: `records/s through the group consumer: ${run.log.consume.perSecond}`,
        baseline: `ConsumerPerformance records/s on the same records: ${run.log.rawConsume.perSecond}`,
        value: ratio(run.log.consume.perSecond, run.log.rawConsume.perSecond),
      })
    }
    if (run.bus === 'kafka') {
      list.push({ name: 'log-layer produce / raw Kafka', measured: `records/s, one per send(): ${run.log.produce.perSecond}`, baseline: `raw Kafka records/s: ${raw?.perSecond ?? '-'}`, value: ratio(run.log.produce.perSecond, raw?.perSecond) })
    }
  }
  if (kafka && memory) {
    list.push({
      name: 'pipeline on Kafka / on the memory bus',
      measured: `completed orders/s on Kafka: ${kafka.pipeline.completedPerSecond}`,
      baseline: `on memory (the actor layer's ceiling): ${memory.pipeline.completedPerSecond}`,
      value: ratio(kafka.pipeline.completedPerSecond, memory.pipeline.completedPerSecond),
    })
  }
  return list
}
