import { describe, expect, test } from 'bun:test'
import type { TransactionalProducer } from '../../kafka/port.ts'
import type { ProduceRecord } from '../../kafka/types.ts'
import { createLogger } from '../../log.ts'
import { Metrics } from '../../observability/metrics.ts'
import { parseMetrics, total } from '../../../test/harness/metrics.ts'
import { TransactionalPublisher } from './publisher.ts'

/** A producer that keeps what each transaction carried and when it began; every commit succeeds. */
function recordingProducer() {
  const transactions: Array<{ beganAt: number; values: string[] }> = []
  const producer: TransactionalProducer = {
    transactionalId: 'recording',
    init: async () => {},
    begin: async () => {
      const transaction = { beganAt: performance.now(), values: [] as string[] }
      transactions.push(transaction)
      return {
        send: async (records: ProduceRecord[]) => void transaction.values.push(...records.map((r) => String(r.value))),
        sendOffsets: async () => {},
        commit: async () => transaction.values.map((_, i) => ({ topic: 'orders', partition: 0, offset: BigInt(i) })),
        abort: async () => {},
      }
    },
    close: async () => {},
  }
  return { producer, transactions }
}

const record = (value: string): ProduceRecord => ({ topic: 'orders', value })

function spacedPublisher(producer: TransactionalProducer, commitIntervalMs: number, commitRecords: number) {
  const metrics = new Metrics()
  return { metrics, publisher: new TransactionalPublisher({ producer, logger: createLogger('silent'), metrics, maxBatchRecords: 500, commitIntervalMs, commitRecords }) }
}

describe('the api publisher spaces its transactions (--api-commit-interval-ms, --api-commit-records)', () => {
  test('calls made within the interval of a transaction start leave together in the next one, which starts no sooner than the interval after', async () => {
    const { producer, transactions } = recordingProducer()
    const { publisher, metrics } = spacedPublisher(producer, 150, 64)
    const deadline = Date.now() + 10_000
    await publisher.publish([record('a')], deadline)
    // The first transaction began at once and has committed; these come within its interval.
    await Promise.all([publisher.publish([record('b')], deadline), publisher.publish([record('c'), record('d')], deadline)])
    expect(transactions.map((t) => t.values)).toEqual([['a'], ['b', 'c', 'd']])
    // setTimeout may fire a millisecond early of performance.now().
    expect(transactions[1].beganAt - transactions[0].beganAt).toBeGreaterThanOrEqual(149)
    // What an operator tunes the interval by: the api's transactions, and the calls each carried.
    const series = parseMetrics(await metrics.text())
    expect([total(series, 'shop_transactions_total', { group: 'api', result: 'committed' }), total(series, 'shop_transactions_total', { group: 'api', result: 'aborted' })]).toEqual([2, 0])
    expect([total(series, 'shop_transaction_batches_count', { group: 'api' }), total(series, 'shop_transaction_batches_sum', { group: 'api' })]).toEqual([2, 3])
    await publisher.close()
  })

  test('--api-commit-records waiting start the next transaction before the interval has passed', async () => {
    const { producer, transactions } = recordingProducer()
    // An interval longer than the test's deadline: only the record count can start the second transaction.
    const { publisher } = spacedPublisher(producer, 1_000, 4)
    const deadline = Date.now() + 10_000
    await publisher.publish([record('a')], deadline)
    const waiting = publisher.publish([record('b'), record('c')], deadline)
    const filled = publisher.publish([record('d'), record('e')], deadline)
    const started = performance.now()
    await Promise.all([waiting, filled])
    expect(performance.now() - started).toBeLessThan(500)
    expect(transactions.map((t) => t.values)).toEqual([['a'], ['b', 'c', 'd', 'e']])
    await publisher.close()
  })

  test('at 0 ms a call made after a transaction ended begins the next one at once', async () => {
    const { producer, transactions } = recordingProducer()
    const { publisher } = spacedPublisher(producer, 0, 64)
    const deadline = Date.now() + 10_000
    await publisher.publish([record('a')], deadline)
    await publisher.publish([record('b')], deadline)
    expect(transactions.map((t) => t.values)).toEqual([['a'], ['b']])
    await publisher.close()
  })
})
