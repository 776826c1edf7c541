import { expect, test } from 'bun:test'
import { httpReceiver } from '../../../../test/harness/receiver.ts'
import { withRetries } from '../../../outbound/post-json.ts'
import { sleep } from '../../../time.ts'
import { httpProvider } from './http.ts'

/**
 * A real HTTP payment receiver: records charges by idempotency key (performing each key once, as a
 * provider does) and answers each call with the next planned behaviour of its key.
 */
const performed = new Map<string, number>()
const calls: string[] = []
const plans = new Map<string, Array<number | 'hang'>>()
const receiver = httpReceiver(async (request) => {
  const key = request.headers.get('idempotency-key') ?? ''
  const body = (await request.json()) as { orderId: string; amount: number }
  calls.push(`${new URL(request.url).pathname} ${key}`)
  const next = plans.get(key)?.shift() ?? 200
  if (next === 'hang') {
    await sleep(1_000)
    return new Response('late', { status: 200 })
  }
  if (next === 402) return Response.json({ reason: 'card_declined' }, { status: 402 })
  if (next !== 200) return new Response('busy', { status: next })
  if (!performed.has(key)) performed.set(key, body.amount)
  return Response.json({ id: `pay_${key}` })
})

const provider = () => httpProvider({ url: `${receiver.url}/`, timeoutMs: 200 })
const retry = { attempts: 4, backoffMs: 1 }
const charge = (orderId: string) => withRetries(`payment charge:${orderId}`, retry, () => provider().charge({ orderId, userId: 'u', amount: 12.5, idempotencyKey: `charge:${orderId}` }))

test('503s are retried with the same idempotency key until the provider answers; the charge is performed once', async () => {
  plans.set('charge:o-1', [503, 503])
  expect(await charge('o-1')).toEqual({ ok: true, id: 'pay_charge:o-1' })
  expect(calls.filter((c) => c.endsWith('charge:o-1'))).toEqual(['/charges charge:o-1', '/charges charge:o-1', '/charges charge:o-1'])
  // A redelivery after a crash calls again with the same key, so the provider answers with the first charge.
  expect(await charge('o-1')).toEqual({ ok: true, id: 'pay_charge:o-1' })
  expect(calls.filter((c) => c.endsWith('charge:o-1'))).toHaveLength(4)
  expect(performed.get('charge:o-1')).toBe(12.5)
})

test('a 402 is a decline with the provider\'s reason, not retried', async () => {
  plans.set('charge:o-2', [402])
  expect(await charge('o-2')).toEqual({ ok: false, reason: 'card_declined' })
  expect(calls.filter((c) => c.endsWith('charge:o-2'))).toHaveLength(1)
  expect(performed.has('charge:o-2')).toBe(false)
})

test('a call past its timeout is retried; once the attempts are spent the payment fails for good, never guessed', async () => {
  plans.set('charge:o-3', ['hang', 200])
  expect(await charge('o-3')).toEqual({ ok: true, id: 'pay_charge:o-3' })
  plans.set('charge:o-4', ['hang', 'hang', 'hang', 'hang'])
  const error = await charge('o-4').catch((e: Error) => e)
  expect(error).toBeInstanceOf(Error)
  expect((error as Error & { code: string }).code).toBe('SHOP_DELIVERY')
  expect((error as Error).message).toContain('payment charge:o-4: 4 attempt(s) failed')
  expect(performed.has('charge:o-4')).toBe(false)
})

test('refunds go to /refunds with their own key', async () => {
  expect(await provider().refund({ orderId: 'o-1', userId: 'u', amount: 12.5, idempotencyKey: 'refund:o-1' })).toEqual({ ok: true, id: 'pay_refund:o-1' })
  expect(calls.at(-1)).toBe('/refunds refund:o-1')
})
