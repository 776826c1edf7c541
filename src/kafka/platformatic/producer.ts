import { ProduceAcks, Producer } from '@platformatic/kafka'
import { Coalescer } from '../coalescer.ts'
import type { LogProducer } from '../port.ts'
import type { RecordPosition } from '../types.ts'
import { call } from './call.ts'
import type { ClientBase } from './options.ts'
import { type PlacedMessage, type Placement, messageBytes, positionsOf } from './placement.ts'
import type { Bytes } from './records.ts'

/**
 * An idempotent producer, acks=all. platformatic sends one Produce request per send(), and the API
 * calls send() once per order: concurrent calls are coalesced into one request in flight, which
 * took one-record sends from 0.46x to 0.9x-1.2x the records/s of Kafka's ProducerPerformance on
 * the same broker (bun bench throughput).
 */
export function idempotentProducer(base: ClientBase, placement: Placement, maxRequestBytes: number, track: (close: () => Promise<void>) => () => Promise<void>): LogProducer {
  const producer = new Producer<Bytes, Bytes, string, string>({ ...base, idempotent: true, acks: ProduceAcks.ALL })
  const requests = new Coalescer<PlacedMessage, RecordPosition>(
    async (messages) => {
      const result = await call('produce', base.timeout, producer.send({ messages }))
      return positionsOf(messages, result.offsets ?? [])
    },
    messageBytes,
    maxRequestBytes,
  )
  return {
    async send(records) {
      return requests.submit(await placement.place(records))
    },
    close: track(() => producer.close(true)),
  }
}
