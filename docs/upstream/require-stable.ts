/**
 * @platformatic/kafka 2.12.1's consumer reads committed offsets (OffsetFetch) with
 * require_stable=false. Under read_committed a new owner of a partition must not read past an
 * offset commit that a transaction still holds: Kafka's Java consumer asks with
 * require_stable=true and the broker answers UNSTABLE_OFFSET_COMMIT until the transaction ends.
 * Here the offsets are read while a transaction commits them: the answer should wait for the
 * commit (offset 6); the client answers at once with the old value (none, -1), so a new owner
 * would start over and process records 0-5 twice. shop reads them through the admin API with
 * requireStable (src/kafka/platformatic/stable-offsets-consumer.ts).
 *
 *   bun docs/upstream/require-stable.ts      (exit 1: the bug reproduced)
 */
import { Consumer, FetchIsolationLevels, ProduceAcks, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { brokers, createTopic, unique, verdict } from './common.ts'

const topic = await createTopic()
const producer = new Producer({ clientId: unique('tx'), bootstrapBrokers: brokers, idempotent: true, transactionalId: unique('tx'), acks: ProduceAcks.ALL, serializers: stringSerializers, producerId: -1n, producerEpoch: -1 })
await producer.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic, value: `v${i}`, partition: 0 })) })
const consumer = new Consumer({ clientId: unique('member'), groupId: unique('group'), bootstrapBrokers: brokers, deserializers: stringDeserializers, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false })
const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
const messages = []
for await (const message of stream) {
  messages.push(message)
  if (messages.length === 6) break
}
const tx = await producer.beginTransaction()
await tx.addConsumer(consumer)
await tx.addOffset(messages[5])
const reading = consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0] }] })
await tx.commit()
const committed = (await reading).get(topic)?.[0]
await stream.close()
await consumer.close(true)
await producer.close(true)
verdict('committed offset read while a transaction commits offset 6', '6', String(committed))
