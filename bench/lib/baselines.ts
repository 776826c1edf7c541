import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { eventRecord } from '../../src/events/envelope.ts'
import { events } from '../../schemas/events.ts'
import type { PlaceOrder } from '../../schemas/order.ts'
import type { Log, TransactionalProducer } from '../../src/kafka/port.ts'
import type { ConsumedRecord, ProduceRecord } from '../../src/kafka/types.ts'
import { ShopProcess, repo } from '../../test/harness/shop-process.ts'
import { closedLoop, type LoadResult } from './load.ts'
import { type Percentiles, percentiles, perSecond } from './stats.ts'
import { eventually } from '../../test/harness/eventually.ts'
import { startedConsumer } from './environment.ts'

/** A throughput figure with the latency of its unit of work (a request, a send, a record). */
export interface Rate {
  count: number
  perSecond: number
  latencyMs: Percentiles
}

/** `orders.created` records as the API writes them: key userId, CloudEvents headers, JSON value. */
export function orderRecords(topic: string, bodies: () => string, count: number): ProduceRecord[] {
  return Array.from({ length: count }, () => {
    const order = JSON.parse(bodies()) as PlaceOrder
    const event = { orderId: crypto.randomUUID(), ...order, createdAt: new Date().toISOString() }
    return eventRecord(topic, events.orderCreated, event, 'shop/api')
  })
}

/** Bytes of a record on the wire that a producer-perf record of the same size must match. */
export function recordBytes(record: ProduceRecord): number {
  const headerBytes = Object.entries(record.headers ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)
  return Buffer.byteLength(record.value ?? '') + Buffer.byteLength(record.key ?? '') + headerBytes
}

/**
 * Apache Kafka's own producer performance tool (org.apache.kafka.tools.ProducerPerformance) against
 * the same broker: `count` records of `size` bytes, acks=all, idempotence on, as fast as it can.
 */
export async function rawKafka(brokers: string[], topic: string, count: number, size: number): Promise<Rate> {
  const { out, err, code } = await kafkaTool('org.apache.kafka.tools.ProducerPerformance', [
    ...['--topic', topic, '--num-records', String(count), '--record-size', String(size), '--throughput', '-1'],
    ...['--producer-props', `bootstrap.servers=${brokers.join(',')}`, 'acks=all', 'enable.idempotence=true'],
  ])
  // The last line: "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, ..."
  const summary = out.trim().split('\n').at(-1) ?? ''
  const m = /^(\d+) records sent, ([\d.]+) records\/sec .*?, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/.exec(summary)
  if (code !== 0 || !m) throw new Error(`ProducerPerformance failed (exit ${code}):\n${out}\n${err}`)
  return {
    count: Number(m[1]),
    perSecond: Math.round(Number(m[2])),
    latencyMs: { count: Number(m[1]), p50: Number(m[4]), p95: Number(m[5]), p99: Number(m[6]), max: Number(m[3]) },
  }
}

/** One of Apache Kafka's own tools (`main`, a class of the jars scripts/kafka.sh fetches), run to its end: what it printed and its exit code. */
async function kafkaTool(main: string, args: string[]): Promise<{ out: string; err: string; code: number }> {
  const proc = Bun.spawn(['bash', resolve(repo, 'scripts/kafka.sh'), 'class', main, ...args], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { out, err, code }
}

/** A consumer's rate: records read per second, from the group's assignment to the last record. */
export interface ConsumeRate {
  count: number
  perSecond: number
}

/**
 * Apache Kafka's own consumer performance tool (org.apache.kafka.tools.ConsumerPerformance) on
 * `topic`, as a user runs it (the Java consumer's defaults), read_committed as shop's consumers
 * are: `count` records in group `group`. Its fetch rate, which leaves out the time to join the group.
 */
export async function rawKafkaConsume(brokers: string[], topic: string, count: number, group: string): Promise<ConsumeRate> {
  const dir = mkdtempSync(join(tmpdir(), 'shop-bench-consumer-'))
  const config = join(dir, 'consumer.properties')
  writeFileSync(config, 'isolation.level=read_committed\n')
  const { out, err, code } = await kafkaTool('org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', brokers.join(','), '--topic', topic, '--messages', String(count), '--group', group, '--consumer.config', config, '--timeout', '60000'])
  rmSync(dir, { recursive: true, force: true })
  // A header line, then: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const lines = out.trim().split('\n')
  const header = lines.findIndex((l) => l.startsWith('start.time'))
  const fields = header < 0 ? [] : (lines[header + 1] ?? '').split(',').map((f) => f.trim())
  const names = header < 0 ? [] : lines[header].split(',').map((f) => f.trim())
  const field = (name: string) => Number(fields[names.indexOf(name)])
  const consumed = field('data.consumed.in.nMsg')
  const rate = field('fetch.nMsg.sec')
  if (code !== 0 || !(consumed >= count) || !Number.isFinite(rate)) throw new Error(`ConsumerPerformance failed (exit ${code}):\n${out}\n${err}`)
  return { count: consumed, perSecond: Math.round(rate) }
}

/**
 * The project's group consumer on `topic` (already full): `count` records counted as delivered,
 * timed from the assignment to the last record, as ConsumerPerformance times its fetches.
 */
export async function logConsume(log: Log, topic: string, count: number, group: string): Promise<ConsumeRate> {
  const progress: Progress = { done: 0 }
  let assigned = 0
  let last = 0
  const consumer = await startedConsumer(log, { groupId: group, topics: [topic] }, () => ({
    onAssigned() {
      assigned ||= performance.now()
    },
    onRevoked() {},
    onRecords(records) {
      progress.done += records.length
      last = performance.now()
    },
    onError(error) {
      progress.failure = error
    },
  }))
  await untilDone(progress, count, 'consume', () => consumer.close())
  return { count: progress.done, perSecond: perSecond(progress.done, last - assigned) }
}

/** How far a bench consumer got: records done, or the error it stopped on. */
interface Progress {
  done: number
  failure?: Error
}

/** Waits until `count` records are done or the consumer failed (300 s at most), closes, then throws what went wrong. */
async function untilDone(progress: Progress, count: number, what: string, close: () => Promise<void>): Promise<void> {
  await eventually(() => {
    if (progress.failure) return
    if (progress.done < count) throw new Error('not done')
  }, 300_000, 5).catch(() => {})
  await close()
  if (progress.failure) throw progress.failure
  if (progress.done < count) throw new Error(`${what}: ${progress.done} of ${count} records within 300 s`)
}

/** The project's producer: each record its own `send()` (as the API publishes an order), `concurrency` at a time. */
export async function logProduce(log: Log, records: ProduceRecord[], concurrency: number): Promise<Rate> {
  const producer = log.producer({ clientId: 'bench-produce' })
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < records.length) {
      const record = records[next++]
      const at = performance.now()
      await producer.send([record])
      latencies.push(performance.now() - at)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = performance.now() - started
  await producer.close()
  return { count: records.length, perSecond: perSecond(records.length, elapsed), latencyMs: percentiles(latencies) }
}

/** Consume-copy-produce both ways, pooled over alternating rounds: the records/s of each round, in the order run, beside the pooled figure. */
export interface TransformRates {
  atLeastOnce: Rate & { rounds: number[] }
  exactlyOnce: Rate & { rounds: number[] }
}

/**
 * Consume-transform-produce through the project's log port, from `from` (already full) to `to`,
 * at-least-once and exactly-once in alternating rounds (A B B A, `pairs` times), each round a new
 * consumer group reading all of `from`: on a shared machine one round of each, one after the
 * other, measures the machine's minute as much as the modes (docs/performance.md, "Exactly-once
 * against at-least-once"). A mode's figure pools its rounds: all their records over all their time.
 */
export async function logTransform(log: Log, from: string, to: string, count: number, group: string, pairs: number): Promise<TransformRates> {
  const order = Array.from({ length: pairs }, () => ['at-least-once', 'exactly-once', 'exactly-once', 'at-least-once'] as const).flat()
  const rounds = { 'at-least-once': [] as Round[], 'exactly-once': [] as Round[] }
  for (const [i, mode] of order.entries()) rounds[mode].push(await transformRound(log, mode, from, to, count, `${group}-${i}`))
  const pooled = (of: Round[]) => ({
    count: of.reduce((n, r) => n + r.count, 0),
    perSecond: perSecond(of.reduce((n, r) => n + r.count, 0), of.reduce((n, r) => n + r.elapsedMs, 0)),
    latencyMs: percentiles(of.flatMap((r) => r.batchMs)),
    rounds: of.map((r) => perSecond(r.count, r.elapsedMs)),
  })
  return { atLeastOnce: pooled(rounds['at-least-once']), exactlyOnce: pooled(rounds['exactly-once']) }
}

interface Round {
  count: number
  elapsedMs: number
  batchMs: number[]
}

/**
 * One round of consume-transform-produce: each delivered batch is copied to `to`, then its offsets
 * are committed, either after the send (at-least-once) or in the same transaction as the outputs
 * (exactly-once: a transactional producer per partition; the copies and the offsets sent side by
 * side, as the port allows and shop's runtime does). Timed from the first delivery to the last commit.
 */
async function transformRound(log: Log, mode: 'at-least-once' | 'exactly-once', from: string, to: string, count: number, group: string): Promise<Round> {
  const producer = log.producer({ clientId: `bench-${mode}` })
  const transactional = new Map<number, TransactionalProducer>()
  const batchMs: number[] = []
  const progress: Progress = { done: 0 }
  let first = 0
  let last = 0
  const copy = (records: ConsumedRecord[]): ProduceRecord[] => records.map((r) => ({ topic: to, key: r.key, value: r.value, headers: r.headers }))
  const consumer = await startedConsumer(log, { groupId: group, topics: [from] }, (consumer) => ({
    async onAssigned(partitions) {
      if (mode === 'at-least-once') return
      for (const { partition } of partitions) {
        if (transactional.has(partition)) continue
        const tx = log.transactionalProducer({ transactionalId: `${group}-${partition}` })
        await tx.init()
        transactional.set(partition, tx)
      }
    },
    onRevoked() {},
    async onRecords(records) {
      const at = performance.now()
      first ||= at
      if (mode === 'at-least-once') {
        await producer.send(copy(records))
        await consumer.commit(records)
      } else {
        const tx = await transactional.get(records[0].partition)!.begin()
        await Promise.all([tx.send(copy(records)), tx.sendOffsets(consumer, records)])
        await tx.commit()
      }
      last = performance.now()
      batchMs.push(last - at)
      progress.done += records.length
    },
    onError(error) {
      progress.failure = error
    },
  }))
  await untilDone(progress, count, mode, async () => {
    await consumer.close()
    for (const tx of transactional.values()) await tx.close()
    await producer.close()
  })
  return { count: progress.done, elapsedMs: last - first, batchMs }
}

/**
 * Back-to-back transactions, as partition actors run them at low load: `producers` transactional
 * producers (one per partition of `topic`), each committing `rounds` transactions of 10 records in
 * a row. Right after a commit the next transaction waits for the previous one's markers (the
 * broker answers CONCURRENT_TRANSACTIONS): the client's retry delay sets the pace. Counts
 * transactions; latency per transaction, begin to commit.
 */
export async function logTransactions(log: Log, topic: string, producers: number, rounds: number, prefix: string): Promise<Rate> {
  const latencies: number[] = []
  const value = 'x'.repeat(200)
  const started = performance.now()
  await Promise.all(
    Array.from({ length: producers }, async (_, partition) => {
      const producer = log.transactionalProducer({ transactionalId: `${prefix}-${partition}` })
      try {
        await producer.init()
        for (let round = 0; round < rounds; round++) {
          const at = performance.now()
          const transaction = await producer.begin()
          await transaction.send(Array.from({ length: 10 }, () => ({ topic, partition, value })))
          await transaction.commit()
          latencies.push(performance.now() - at)
        }
      } finally {
        await producer.close()
      }
    }),
  )
  return { count: latencies.length, perSecond: perSecond(latencies.length, performance.now() - started), latencyMs: percentiles(latencies) }
}

/** A bare Elysia endpoint answering 202 (bench/bare-elysia.ts, its own process), under the same load as the API. */
export async function bareElysia(bodies: () => string, count: number, concurrency: number): Promise<LoadResult> {
  const server = await ShopProcess.spawn([], { command: [process.execPath, resolve(import.meta.dir, '../bare-elysia.ts')] })
  try {
    return await closedLoop({ url: server.url, next: bodies }, count, concurrency)
  } finally {
    server.kill('SIGKILL')
    await server.exited
  }
}
