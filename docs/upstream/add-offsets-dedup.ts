/**
 * @platformatic/kafka 2.12.1 deduplicates the AddOffsetsToTxn calls a producer has in flight by
 * their name alone, whatever the group: `Transaction.addConsumer` of a second group, called while
 * the first group's is in flight, resolves with the first one's answer and its group is never
 * added to the transaction. Kafka allows one transaction to carry several groups' offsets (a
 * Kafka Streams thread's carries every sub-topology's); here the second group's TxnOffsetCommit
 * then fails TRANSACTION_ABORTABLE. shop adds a transaction's groups one at a time
 * (src/kafka/platformatic/transactional-producer.ts).
 *
 *   bun docs/upstream/add-offsets-dedup.ts      (exit 1: the bug reproduced)
 */
import { Consumer, FetchIsolationLevels, ProduceAcks, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { brokers, createTopic, unique, verdict } from './common.ts'

const topic = await createTopic()
const producer = new Producer({ clientId: unique('tx'), bootstrapBrokers: brokers, idempotent: true, transactionalId: unique('tx'), acks: ProduceAcks.ALL, serializers: stringSerializers, producerId: -1n, producerEpoch: -1 })
await producer.send({ messages: Array.from({ length: 4 }, (_, i) => ({ topic, value: `v${i}`, partition: 0 })) })
const members = []
for (const name of ['group-a', 'group-b']) {
  const consumer = new Consumer({ clientId: unique('member'), groupId: unique(name), bootstrapBrokers: brokers, deserializers: stringDeserializers, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const messages = []
  for await (const message of stream) {
    messages.push(message)
    if (messages.length === 4) break
  }
  members.push({ consumer, stream, last: messages[3] })
}
const tx = await producer.beginTransaction()
const outcomes: string[] = []
try {
  // Both groups added side by side, then each group's offset.
  await Promise.all(members.map(({ consumer }) => tx.addConsumer(consumer)))
  for (const { last } of members) await tx.addOffset(last)
  await tx.commit()
  outcomes.push('committed')
} catch (error) {
  const errors = (error as { errors?: Array<{ errors?: Array<{ apiId?: string }>; apiId?: string }> }).errors ?? []
  outcomes.push(errors.flatMap((e) => [e.apiId, ...(e.errors ?? []).map((inner) => inner.apiId)]).find(Boolean) ?? (error as Error).message)
  await tx.abort().catch(() => {})
}
for (const { consumer, stream } of members) {
  await stream.close()
  await consumer.close(true)
}
await producer.close(true)
verdict("one transaction with two groups' offsets, the groups added side by side", ['committed'], outcomes)
