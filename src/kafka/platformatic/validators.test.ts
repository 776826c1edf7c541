import { describe, expect, test } from 'bun:test'
import { Consumer, Producer, UserError } from '@platformatic/kafka'
import { fileURLToPath } from 'node:url'
import { runtime } from '../../runtime/index.ts'

/**
 * The project's patch compiles the client's option validators at their first call instead of when
 * their modules are imported (`utils.js`: 38 schemas, ~0.2 s of a process's start-up CPU, of
 * which shop, with `strict: false`, runs one). The validators must still judge options as before:
 * the consumer's group options always, every other option when a client is strict, with the
 * client's own messages, and each call on its own data.
 */
const brokers = ['127.0.0.1:1'] // never reached: options are judged in the constructors

describe('the client option validators, compiled at their first call', () => {
  test('importing the client compiles none; a group consumer compiles its one', async () => {
    const proc = runtime.spawn(runtime.scriptCommand(fileURLToPath(new URL('./validator-compiles.probe.ts', import.meta.url))))
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(JSON.parse(stdout)).toEqual({ atImport: 0, afterConsumer: 1 })
  })

  test("a consumer's group options are still refused, with the client's message", () => {
    const make = () => new Consumer({ clientId: 'validators', bootstrapBrokers: brokers, groupId: 'g', sessionTimeout: 10_000, rebalanceTimeout: 5_000 })
    expect(make).toThrow(UserError)
    expect(make).toThrow('/options/rebalanceTimeout must be greater than or equal to /options/sessionTimeout.')
  })

  test('a strict client refuses bad options; a call after a refusal judges its own data', async () => {
    expect(() => new Producer({ clientId: 'validators', bootstrapBrokers: brokers, strict: true, retries: -1 })).toThrow('/options/retries must be >= 0')
    const producer = new Producer({ clientId: 'validators', bootstrapBrokers: brokers, strict: true, retries: 2 })
    await producer.close()
    const consumer = new Consumer({ clientId: 'validators', bootstrapBrokers: brokers, groupId: 'g', sessionTimeout: 10_000, rebalanceTimeout: 20_000 })
    await consumer.close()
    expect(() => new Consumer({ clientId: 'validators', bootstrapBrokers: brokers, groupId: 'g', heartbeatInterval: 20_000, sessionTimeout: 10_000 })).toThrow('/options/heartbeatInterval must be less than or equal to /options/sessionTimeout.')
  })
})
