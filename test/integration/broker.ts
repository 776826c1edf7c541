import { repo } from '../harness/shop-process.ts'

/** The broker that scripts/kafka.sh starts; SHOP_TEST_BROKERS points the integration tests elsewhere. */
export const testBrokers = (process.env.SHOP_TEST_BROKERS ?? '127.0.0.1:9092').split(',')

/**
 * Restarts the test broker (a clean stop, then a start), when it is the one scripts/kafka.sh runs
 * on KAFKA_PORT (as `npm test` does); otherwise the reason it cannot.
 */
export const restartBroker: (() => Promise<void>) | string =
  process.env.KAFKA_PORT && testBrokers.join(',') === `127.0.0.1:${process.env.KAFKA_PORT}`
    ? async () => {
        const restart = Bun.spawn(['bash', 'scripts/kafka.sh', 'restart'], { cwd: repo, stdout: 'ignore', stderr: 'pipe' })
        if ((await restart.exited) !== 0) throw new Error(`kafka.sh restart failed: ${await new Response(restart.stderr).text()}`)
      }
    : 'the test broker is not one scripts/kafka.sh runs on KAFKA_PORT (SHOP_TEST_BROKERS points elsewhere)'
