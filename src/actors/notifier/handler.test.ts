import { expect, test } from 'bun:test'
import { events } from '../../../schemas/events.ts'
import { encodeEvent } from '../../events/envelope.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import { topicNames } from '../../topology.ts'
import type { StepContext } from '../runtime/transactional/types.ts'
import { notifierHandler } from './handler.ts'
import type { Notification } from './sinks/types.ts'

const topics = topicNames('')

function reservedRecord(orderId: string): ConsumedRecord {
  const payload = { orderId, userId: 'ada', status: 'reserved' as const, at: new Date().toISOString() }
  const { value, headers } = encodeEvent(events.orderStatus, payload, 'test')
  return { topic: topics.orderStatus, partition: 0, offset: 0n, key: 'ada', value: Buffer.from(value), headers, timestamp: Date.now(), generation: 1 }
}

/** A step context over committed state `store`; puts are staged, as in an attempt that may abort. */
function attempt(store: Map<string, unknown>) {
  const staged = new Map<string, unknown>()
  const ctx: StepContext = {
    partition: 0,
    send: () => {},
    get: <V>(_: string, key: string) => (staged.get(key) ?? store.get(key)) as V | undefined,
    put: (_, key, value) => void staged.set(key, value),
    deadLetter: (error) => {
      throw error
    },
    afterCommit: () => {},
    batch: new Map(),
  }
  return { ctx, staged }
}

test('a batch handled again after its commit failed records the delivery again but does not repeat it', async () => {
  const sent: Notification[] = []
  const handler = notifierHandler(topics, { console: { name: 'console', send: async (n) => void sent.push(n) }, outbound: [] })
  const committed = new Map<string, unknown>()
  const record = reservedRecord('o-1')

  const first = attempt(committed)
  await handler.handle(record, first.ctx)
  // The commit failed: nothing staged reaches the committed state; the batch is handled again.
  const second = attempt(committed)
  await handler.handle(record, second.ctx)
  expect(sent.map((n) => n.id)).toEqual(['o-1/reserved'])
  expect([...second.staged.keys()]).toEqual(['o-1/reserved/console'])

  // Once committed, a redelivery neither sends nor records anything.
  for (const [k, v] of second.staged) committed.set(k, v)
  const third = attempt(committed)
  await handler.handle(record, third.ctx)
  expect(sent).toHaveLength(1)
  expect(third.staged.size).toBe(0)
})
