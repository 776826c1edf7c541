/**
 * @platformatic/kafka 2.12.1, read_committed: the aborted range of a producer ends at its *last*
 * ABORT marker in a fetch response, and only the last aborted transaction of each producer is
 * kept. One transactional id writes A (aborted), B (committed), C (aborted), D (committed):
 * a read_committed consumer must see B and D only. Unpatched, it also delivers A; in shop's
 * kill -9 runs it dropped committed records (723 of 2,072 of one changelog partition).
 * Kafka's Java client keeps a set of active aborted producers, opened at each aborted
 * transaction's first offset and closed at that producer's next ABORT marker.
 *
 *   bun docs/upstream/read-committed-filter.ts      (exit 1: the bug reproduced)
 */
import { Consumer, FetchIsolationLevels, ProduceAcks, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { brokers, createTopic, unique, verdict } from './common.ts'

const topic = await createTopic()
const producer = new Producer({ clientId: unique('tx'), bootstrapBrokers: brokers, idempotent: true, transactionalId: unique('tx'), acks: ProduceAcks.ALL, serializers: stringSerializers, producerId: -1n, producerEpoch: -1 })
for (const [value, commit] of [['A', false], ['B', true], ['C', false], ['D', true]] as const) {
  const tx = await producer.beginTransaction()
  await tx.send({ messages: [{ topic, key: 'k', value, partition: 0 }] })
  await (commit ? tx.commit() : tx.abort())
}
await producer.send({ messages: [{ topic, key: 'k', value: 'end', partition: 0 }] })
await producer.close()

const consumer = new Consumer({ clientId: unique('reader'), groupId: unique('group'), bootstrapBrokers: brokers, deserializers: stringDeserializers, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false })
const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
const seen: string[] = []
for await (const message of stream) {
  seen.push(message.value as string)
  if (message.value === 'end') break
}
await stream.close()
await consumer.close(true)
verdict('read_committed over A (aborted), B, C (aborted), D, end from one transactional id', ['B', 'D', 'end'], seen)
