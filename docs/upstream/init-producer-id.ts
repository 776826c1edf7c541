/**
 * @platformatic/kafka 2.12.1 sends InitProducerId with producer id 0 and epoch 0 when none is
 * configured. The protocol says -1/-1 for "none known"; with 0/0 the broker answers
 * PRODUCER_FENCED to the second instance of any transactional id that has been used before, so a
 * restarted process can never take its transactional id back (zombie fencing cannot work).
 * shop passes `producerId: -1n, producerEpoch: -1` (src/kafka/platformatic/transactional-producer.ts).
 *
 *   bun docs/upstream/init-producer-id.ts      (exit 1: the bug reproduced)
 */
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka'
import { brokers, createTopic, unique, verdict } from './common.ts'

const topic = await createTopic()
const transactionalId = unique('tx')
const outcomes: string[] = []
for (const run of ['first instance', 'second instance']) {
  const producer = new Producer({ clientId: unique('tx'), bootstrapBrokers: brokers, idempotent: true, transactionalId, acks: ProduceAcks.ALL, serializers: stringSerializers })
  try {
    const tx = await producer.beginTransaction()
    await tx.send({ messages: [{ topic, value: run, partition: 0 }] })
    await tx.commit()
    outcomes.push(`${run}: committed`)
  } catch (error) {
    outcomes.push(`${run}: ${(error as { errors?: Array<{ apiId?: string }> }).errors?.[0]?.apiId ?? (error as Error).message}`)
  }
  await producer.close(true)
}
verdict('two successive instances of one transactional id, no producer id configured', ['first instance: committed', 'second instance: committed'], outcomes)
