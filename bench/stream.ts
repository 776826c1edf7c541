import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { events } from '../schemas/events.ts'
import { eventRecord, jsonOf } from '../src/events/envelope.ts'
import { KafkaLog } from '../src/kafka/platformatic/index.ts'
import type { ConsumedRecord, ProduceRecord } from '../src/kafka/types.ts'
import { topicNames, topicSpecs } from '../src/topology.ts'
import { eventually } from '../test/harness/eventually.ts'
import type { BenchOptions } from './options.ts'
import { anchorTopics, buildAnchor, startAnchor } from './lib/anchor.ts'
import { orderRecords } from './lib/baselines.ts'
import { benchEnvironment, ensureTopics, machine, runPrefix, scratchDir, startedConsumer } from './lib/environment.ts'
import { orderBodies, stockPlan } from './lib/load.ts'
import { spawn } from './lib/pipeline.ts'
import { type Ratio, type StreamResult, streamMarkdown, writeResult } from './lib/report.ts'
import { ProcessSampler } from './lib/sampler.ts'
import { type Say, mixOf } from './lib/session.ts'
import { median, perSecond, ratio, round } from './lib/stats.ts'

type Run = StreamResult['runs'][number]

/** A running stream processor under measurement: its pid, and how to stop it (SIGTERM, waited for). */
interface Processor {
  pid: number
  stop(): Promise<void>
}

/**
 * `bun bench stream`: shop's stream core (an `order,inventory` process, alone and with each of
 * --shop-workers, each run on its own copy of the orders) beside the same topology
 * written with Kafka Streams (bench/anchors/kafka-streams), each draining the same --stream-orders
 * orders pre-filled in `orders.created` on the same broker, with the same stock. Each run counts
 * the outcomes (reserved or failed) it publishes until every order has exactly one; the runs must
 * agree on which orders were reserved.
 */
export async function stream(options: BenchOptions, say: Say): Promise<{ result: StreamResult; files: string[] }> {
  const startedAt = new Date().toISOString()
  const { binary, broker } = benchEnvironment(options, say, true)
  const log = new KafkaLog({ brokers: broker!.brokers, clientId: 'bench-stream' })
  try {
    say('building the Kafka Streams anchor (bench/anchors/kafka-streams, Maven)')
    const classpath = buildAnchor()
    const prefix = runPrefix()
    const topics = topicNames(prefix)
    const threads = options.anchorThreads.split(',').map(Number)
    const rounds = Array.from({ length: options.streamRounds }, (_, r) => r)
    const inRound = (r: number) => (r === 0 ? '' : `r${r + 1}-`)
    const namespaces = rounds.map((r) => threads.map((t) => `${prefix}anchor-${inRound(r)}${t}-threads.`))
    // Each shop run of each round drains its own copy of the orders (its groups start at offset 0);
    // every anchor run reads the first copy, under its own application id.
    const shopRuns = options.shopWorkers.split(',').map(Number)
    const shopPrefixes = rounds.map((r) => shopRuns.map((workers, i) => (r === 0 && i === 0 ? prefix : `${prefix}${inRound(r)}workers-${workers}.`)))
    await ensureTopics(log, [
      ...shopPrefixes.flat().flatMap((topicPrefix) => topicSpecs({ partitions: options.partitions, topicPrefix, idempotencyTtlMs: 86_400_000, roles: [] })),
      ...namespaces.flat().flatMap((ns) => Object.values(anchorTopics(ns)).map((name) => ({ name, partitions: options.partitions }))),
    ])

    const count = options.streamOrders
    say(`pre-filling ${count} orders and the stock of ${options.skus} SKUs`)
    const plan = Object.entries(stockPlan(mixOf(options), count))
    const orders = orderRecords(topics.ordersCreated, orderBodies(mixOf(options)), count)
    const producer = log.producer()
    try {
      for (const p of shopPrefixes.flat()) {
        const copy = topicNames(p)
        await producer.send(plan.map(([sku, quantity]) => eventRecord(copy.inventoryRequests, events.inventoryRequest, { type: 'set', sku, quantity }, 'shop/bench')))
        for (let i = 0; i < orders.length; i += 2_000) await producer.send(orders.slice(i, i + 2_000).map((r) => ({ ...r, topic: copy.ordersCreated })))
      }
      for (const ns of namespaces.flat()) {
        await producer.send(plan.map(([sku, quantity]) => ({ topic: anchorTopics(ns).inventoryRequests, key: sku, value: JSON.stringify({ type: 'set', sku, quantity }) })))
      }
    } finally {
      await producer.close()
    }
    const orderIds = new Set(orders.map((r) => orderIdOf(r)))

    const drain = async (name: string, outcomes: { reserved: string; failed: string }, start: () => Promise<Processor>): Promise<Run & { reservedIds: Set<string> }> => {
      say(`${name}: draining ${count} orders`)
      const outcome = new Map<string, 'reserved' | 'failed'>()
      let duplicates = 0
      let firstAt = 0
      let lastAt = 0
      const counter = await startedConsumer(log, { groupId: `${prefix}count-${randomUUID().slice(0, 8)}`, topics: [outcomes.reserved, outcomes.failed] }, () => ({
        onAssigned() {},
        onRevoked() {},
        onRecords(records) {
          const now = performance.now()
          for (const record of records) {
            const id = orderIdOf(record)
            if (outcome.has(id)) duplicates++
            else outcome.set(id, record.topic === outcomes.reserved ? 'reserved' : 'failed')
          }
          firstAt ||= now
          if (outcome.size >= count && !lastAt) lastAt = now
        },
      }))
      const runStartedAt = new Date().toISOString()
      const began = performance.now()
      const processor = await start()
      // The processor's CPU counts from its own start: shop's from before its `shop:start` (and a
      // supervisor's workers start after it), Kafka Streams' from its JVM's. The broker's, over the window.
      const sampler = new ProcessSampler([{ name, pid: processor.pid, tree: true, sinceStart: true }, ...(broker!.pid ? [{ name: 'kafka broker', pid: broker!.pid }] : [])])
      sampler.start()
      const progress = setInterval(() => say(`${name}: ${outcome.size} of ${count} outcomes`), 5_000)
      try {
        await eventually(() => {
          if (outcome.size < count) throw new Error(`${name}: ${outcome.size} of ${count} orders have an outcome after ${options.drainTimeoutMs} ms`)
        }, options.drainTimeoutMs, 50)
      } catch (error) {
        // Stopped all the same, so that its log is kept for the failure.
        await processor.stop().catch(() => {})
        throw error
      } finally {
        clearInterval(progress)
      }
      const processes = sampler.stop()
      await processor.stop()
      await counter.close()
      const unknown = [...outcome.keys()].filter((id) => !orderIds.has(id))
      if (unknown.length > 0 || duplicates > 0) throw new Error(`${name}: ${unknown.length} outcomes of orders never placed, ${duplicates} second outcomes`)
      const seconds = (lastAt - began) / 1000
      const cpuMsPerOrder = (usage: { cpuSeconds: number }) => round((usage.cpuSeconds * 1000) / count, 3)
      const reservedIds = new Set([...outcome].filter(([, o]) => o === 'reserved').map(([id]) => id))
      say(`${name}: ${perSecond(count, lastAt - began)} orders/s`)
      return {
        name,
        startedAt: runStartedAt,
        orders: count,
        reserved: reservedIds.size,
        failed: count - reservedIds.size,
        seconds: round(seconds),
        firstOutcomeMs: round(firstAt - began),
        ordersPerSecond: perSecond(count, lastAt - began),
        ordersPerSecondAfterFirst: perSecond(count, lastAt - firstAt),
        processes,
        cpuMsPerOrder: processes.map((p) => ({ name: p.name, ms: cpuMsPerOrder(p) })),
        reservedIds,
      }
    }

    // Per round, shop's runs and the anchor's; rounds 2, 4, ... run the anchor's first, so that
    // neither side always drains after the other (the machine is shared, and what ran before
    // leaves the broker busier or its caches warmer). Each round's runs are kept shop's first.
    const runs: Array<Array<Run & { reservedIds: Set<string> }>> = []
    // --profile: a CPU profile of the shop process, and its hottest functions, in <out>/profiles/stream/.
    const profileDir = options.profile ? join(options.out, 'profiles', 'stream') : undefined
    for (const r of rounds) {
      const round = options.streamRounds > 1 ? ` (round ${r + 1})` : ''
      const shopDrains = shopRuns.map((workers, i) => () => {
        const spec = { bus: 'kafka' as const, shop: [binary], brokers: broker!.brokers, prefix: shopPrefixes[r][i], options, profileDir, onNotifierLine: () => {}, extraFlags: [`--workers=${workers}`] }
        const copy = topicNames(shopPrefixes[r][i])
        const name = (workers === 1 ? 'shop order,inventory' : `shop order,inventory --workers=${workers}`) + round
        return drain(name, { reserved: copy.reserved, failed: copy.failed }, async () => {
          const shop = await spawn(spec, `kafka:order,inventory${workers === 1 ? '' : `:${workers}-workers`}`, 'order,inventory', scratchDir('data'))
          return {
            pid: shop.proc.pid,
            async stop() {
              shop.kill('SIGTERM')
              await shop.exited
              // Its log, with every transaction's timings at --log-level=debug.
              mkdirSync(join(options.out, 'logs'), { recursive: true })
              const file = `stream-shop${workers === 1 ? '' : `-${workers}-workers`}${r === 0 ? '' : `-round-${r + 1}`}.log`
              writeFileSync(join(options.out, 'logs', file), `${shop.stderr.join('\n')}\n`)
            },
          }
        })
      })
      const anchorDrains = threads.map((n, i) => () => {
        const ns = anchorTopics(namespaces[r][i])
        return drain(`Kafka Streams, ${n} stream thread${n === 1 ? '' : 's'}${round}`, { reserved: ns.reserved, failed: ns.failed }, async () => {
          const java = startAnchor(classpath, broker!.brokers, topics.ordersCreated, namespaces[r][i], n)
          return {
            pid: java.proc.pid,
            async stop() {
              // On SIGTERM the JVM runs the shutdown hook (KafkaStreams.close), then exits 143 (128 + 15).
              java.proc.kill('SIGTERM')
              const code = await java.proc.exited
              if (code !== 143 && code !== 0) throw new Error(`the anchor exited ${code}; its log: ${java.logFile}`)
            },
          }
        })
      })
      const drains = [...shopDrains, ...anchorDrains]
      const shopIndexes = shopDrains.map((_, i) => i)
      const anchorIndexes = anchorDrains.map((_, i) => shopDrains.length + i)
      const these: Array<Run & { reservedIds: Set<string> }> = []
      for (const i of r % 2 === 1 ? [...anchorIndexes, ...shopIndexes] : [...shopIndexes, ...anchorIndexes]) these[i] = await drains[i]!()
      runs.push(these)
    }
    const [shop, ...others] = runs.flat()
    for (const run of others) {
      const differ = [...run.reservedIds].filter((id) => !shop.reservedIds.has(id)).length + [...shop.reservedIds].filter((id) => !run.reservedIds.has(id)).length
      if (differ > 0) throw new Error(`${run.name} and shop disagree on ${differ} orders' outcomes`)
    }
    const result: StreamResult = {
      bench: 'stream',
      startedAt,
      machine: machine(broker!.version),
      options: { ...options },
      runs: runs.flat().map(({ reservedIds: _, ...run }) => run),
      ratios: ratios(runs, shopRuns.length),
    }
    return { result, files: writeResult(options.out, 'stream', result, streamMarkdown(result)) }
  } finally {
    await log.close()
    await broker?.stop()
  }
}

/** The orderId of an order or an outcome record (shop's values may carry the registry's wire-format header). */
function orderIdOf(record: ProduceRecord | ConsumedRecord): string {
  return (JSON.parse(jsonOf(Buffer.from(record.value!))) as { orderId: string }).orderId
}

/**
 * Each round's ratios (within the round: shop's later runs against its first, every shop run against
 * every anchor run); with more than one round, then the median of each over the rounds.
 */
function ratios(rounds: Run[][], shopRuns: number): Ratio[] {
  const cpu = (run: Run) => run.cpuMsPerOrder[0].ms
  const rss = (run: Run) => run.processes[0].rssPeakMb
  const figures = [
    { what: 'orders/s', of: (run: Run) => run.ordersPerSecond, unit: '' },
    { what: 'processor CPU per order', of: cpu, unit: ' ms' },
    { what: 'peak RSS', of: rss, unit: ' MB' },
  ]
  // Per round, the pairs compared, each named without its round.
  const perRound = rounds.map((runs) => {
    const shops = runs.slice(0, shopRuns)
    const anchors = runs.slice(shopRuns)
    const pairs = [...shops.slice(1).map((shop) => [shop, shops[0]]), ...shops.flatMap((shop) => anchors.map((anchor) => [shop, anchor]))]
    return pairs.flatMap(([shop, baseline]) =>
      figures.map(({ what, of, unit }) => ({
        pair: `${unrounded(shop.name)} / ${unrounded(baseline.name)}: ${what}`,
        ratio: { name: `${shop.name} / ${baseline.name}: ${what}`, measured: `${of(shop)}${unit}`, baseline: `${of(baseline)}${unit}`, value: ratio(of(shop), of(baseline)) },
      })),
    )
  })
  const all = perRound.flat().map(({ ratio }) => ratio)
  if (rounds.length === 1) return all
  const medians = perRound[0].map(({ pair }, i) => {
    const values = perRound.map((round) => round[i].ratio.value)
    return { name: `${pair}, median of ${rounds.length} rounds`, measured: values.map((v) => v ?? '-').join(' / '), baseline: 'the rounds above', value: values.includes(null) ? null : median(values as number[]) }
  })
  return [...all, ...medians]
}

/** A run's name without its round. */
const unrounded = (name: string) => name.replace(/ \(round \d+\)$/, '')
