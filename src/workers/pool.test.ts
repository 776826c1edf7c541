import { describe, expect, test } from 'bun:test'
import { initialRebalanceDelay, rebalanceDelayWarning, workerIdentity } from './pool.ts'

describe('a --workers supervisor', () => {
  test("warns of a broker that completes a group's first join alone (an initial rebalance delay of 0), naming the setting and the fix; any other delay, or none reported, says nothing", () => {
    const warning = rebalanceDelayWarning('0')
    expect(warning).toContain(`${initialRebalanceDelay}=0`)
    expect(warning).toContain("Kafka's default is 3000 ms")
    expect([rebalanceDelayWarning('100'), rebalanceDelayWarning('3000'), rebalanceDelayWarning(undefined)]).toEqual([undefined, undefined, undefined])
  })

  test('a worker knows its index and its supervisor from its environment; either missing or malformed, it is no worker', () => {
    const env = { SHOP_WORKER_INDEX: '1', SHOP_SUPERVISOR_PID: '42' }
    expect(workerIdentity(env)).toEqual({ index: 1, supervisorPid: 42 })
    expect(workerIdentity({})).toBeUndefined()
    expect(workerIdentity({ ...env, SHOP_WORKER_INDEX: 'one' })).toBeUndefined()
    expect(workerIdentity({ ...env, SHOP_SUPERVISOR_PID: undefined })).toBeUndefined()
  })

  test('a worker the tree starts with learns its start gate from its environment; one restarted, or with a malformed count, has none', () => {
    const env = { SHOP_WORKER_INDEX: '1', SHOP_SUPERVISOR_PID: '42' }
    expect(workerIdentity({ ...env, SHOP_START_GATE: '/data/start-gate', SHOP_START_GATE_WORKERS: '2' })).toEqual({ index: 1, supervisorPid: 42, gate: { dir: '/data/start-gate', workers: 2 } })
    expect(workerIdentity(env)).toEqual({ index: 1, supervisorPid: 42 })
    expect(workerIdentity({ ...env, SHOP_START_GATE: '/data/start-gate', SHOP_START_GATE_WORKERS: 'two' })).toEqual({ index: 1, supervisorPid: 42 })
  })
})
