import { expect } from 'bun:test'
import { eventually } from '../harness/eventually.ts'
import { repo } from '../harness/shop-process.ts'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { runtime } from '../../src/runtime/index.ts'
import type { PipelineCasesOptions } from '../pipeline/cases.ts'

/** The broker that scripts/kafka.sh starts; SHOP_TEST_BROKERS points the integration tests elsewhere. */
export const testBrokers = (process.env.SHOP_TEST_BROKERS ?? '127.0.0.1:9092').split(',')

/** The pipeline cases' bus on the test broker: in-process shops with a short session timeout. */
export const kafka: PipelineCasesOptions = {
  name: 'kafka (real broker)',
  busFlags: [`--brokers=${testBrokers.join(',')}`, '--session-timeout-ms=6000'],
  createLog: () => new KafkaLog({ brokers: testBrokers, sessionTimeoutMs: 6_000 }),
  patienceMs: 30_000,
}

/** What scripts/kafka.sh can do to the broker it runs: see the script's header. */
export type BrokerAction = 'restart' | 'pause' | 'resume' | 'kill' | 'up'

/**
 * Acts on the test broker when it is the one scripts/kafka.sh runs on KAFKA_PORT (as `npm test`
 * does); otherwise the reason it cannot (then fault tests cannot run, and say so).
 * `resume` and `restart` return once every partition has had a leader for a while, so that what a
 * test does next meets a serving broker. A broker thawed after more than its session timeout (9 s)
 * is fenced by its own controller a moment after it answers again: every partition is leaderless
 * until it registers anew, for seconds when it holds many partitions.
 */
export const controlBroker: ((action: BrokerAction) => Promise<void>) | string =
  process.env.KAFKA_PORT && testBrokers.join(',') === `127.0.0.1:${process.env.KAFKA_PORT}`
    ? async (action) => {
        const run = runtime.spawn(['bash', 'scripts/kafka.sh', action], { cwd: repo })
        if ((await run.exited) !== 0) throw new Error(`kafka.sh ${action} failed: ${await new Response(run.stderr).text()}`)
        if (action === 'resume' || action === 'restart' || action === 'up') await everyPartitionLed()
      }
    : 'the test broker is not one scripts/kafka.sh runs on KAFKA_PORT (SHOP_TEST_BROKERS points elsewhere)'

/** Waits until metadata requests for every topic answer without a leaderless partition for 3 s running. */
async function everyPartitionLed(): Promise<void> {
  const log = new KafkaLog({ brokers: testBrokers })
  let ledSince: number | undefined
  try {
    await eventually(async () => {
      try {
        await log.admin.describeTopics([])
      } catch (error) {
        ledSince = undefined
        throw error
      }
      ledSince ??= Date.now()
      expect(Date.now() - ledSince).toBeGreaterThanOrEqual(3_000)
    }, 90_000, 250)
  } finally {
    await log.close()
  }
}
