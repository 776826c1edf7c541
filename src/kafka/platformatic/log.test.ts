import { describe, expect, test } from 'bun:test'
import { ProtocolError } from '@platformatic/kafka'
import { transactionRetries } from './log.ts'
import { kafkaLogDefaults } from './options.ts'

/** How long a policy keeps retrying an error before the client gives up, in ms (capped at `cap`). */
function retriedFor(policy: ReturnType<typeof transactionRetries>, error: unknown, cap: number): number {
  let waited = 0
  for (let attempt = 1; attempt <= policy.retries && waited < cap; attempt++) waited += policy.retryDelay(null, 'addPartitionsToTransaction', attempt, policy.retries, error)
  return waited
}

describe('transactional retries', () => {
  const policy = transactionRetries(kafkaLogDefaults.concurrentTransactionsRetryMs)
  const concurrent = new ProtocolError('CONCURRENT_TRANSACTIONS')

  test('CONCURRENT_TRANSACTIONS is asked again within 20 ms, for as long as a call may wait', () => {
    for (let attempt = 1; attempt < 1_000; attempt++) {
      expect(policy.retryDelay(null, 'op', attempt, policy.retries, concurrent)).toBeLessThanOrEqual(20)
    }
    expect(policy.retryDelay(null, 'op', 1, policy.retries, concurrent)).toBe(kafkaLogDefaults.concurrentTransactionsRetryMs)
    // The client stops only when the call's deadline closes it: a coordinator busy for longer than
    // a few hundred ms (markers of a transaction on new topics) no longer fails the transaction.
    expect(retriedFor(policy, concurrent, kafkaLogDefaults.requestTimeoutMs)).toBeGreaterThanOrEqual(kafkaLogDefaults.requestTimeoutMs)
  })

  test('other retriable errors back off up to 2 s', () => {
    const other = new ProtocolError('COORDINATOR_LOAD_IN_PROGRESS')
    expect(policy.retryDelay(null, 'op', 1, policy.retries, other)).toBe(20)
    expect(policy.retryDelay(null, 'op', 10, policy.retries, other)).toBe(2_000)
  })
})
