/**
 * @platformatic/kafka 2.12.1 resets its fetch positions to the committed offsets when the group
 * rejoins, but a fetch already in flight then lands and moves the position past its records: the
 * records between the committed offset and that fetch are never delivered to the member that
 * keeps the partition. Here a member reads v0-v9 and commits offset 4; a second member joins
 * (on another topic, so the first keeps the partition) while records keep arriving. After the
 * rejoin, delivery under the new generation must restart at offset 4 (v4); it starts far later
 * (measured: v453 to v458 in three runs). shop's Kafka adapter
 * checks the first record of each partition after every assignment against the committed offset
 * and reads the skipped records itself (src/kafka/position-guard.ts).
 *
 *   bun docs/upstream/late-fetch-after-rejoin.ts      (exit 1: the bug reproduced)
 */
import { Consumer, FetchIsolationLevels, ProduceAcks, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { brokers, createTopic, unique, verdict } from './common.ts'

const topic = await createTopic()
const other = await createTopic()
const groupId = unique('group')
const producer = new Producer({ clientId: unique('producer'), bootstrapBrokers: brokers, acks: ProduceAcks.ALL, serializers: stringSerializers })
await producer.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic, value: `v${i}`, partition: 0 })) })
const member = (name: string) =>
  new Consumer({ clientId: unique(name), groupId, bootstrapBrokers: brokers, deserializers: stringDeserializers, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false, maxWaitTime: 500 })
const first = member('first')
let joins = 0
first.on('consumer:group:join', () => joins++)
const stream = await first.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
const seen: Array<{ value: string; generation: number }> = []
stream.on('data', (message) => seen.push({ value: message.value as string, generation: (message.metadata.consumer as { generationId: number }).generationId }))
while (seen.length < 10) await Bun.sleep(20)
await first.commit({ offsets: [{ topic, partition: 0, offset: 4n, leaderEpoch: -1 }] })
const second = member('second')
const joined = second.consume({ topics: [other], mode: 'earliest' })
for (let n = 10; joins < 2; n++) {
  await producer.send({ messages: [{ topic, value: `v${n}`, partition: 0 }] })
  await Bun.sleep(5)
}
const secondStream = await joined
const generation = first.generationId
await producer.send({ messages: [{ topic, value: 'after', partition: 0 }] })
for (const until = Date.now() + 20_000; Date.now() < until && !seen.some((s) => s.value === 'after'); ) await Bun.sleep(20)
// Records of the older generation are stale (their offsets cannot be committed): what counts is
// where delivery under the new generation begins.
const afterRejoin = seen.filter((s) => s.generation === generation).map((s) => s.value)
await Promise.all([stream.close(), secondStream.close()])
await Promise.all([first.close(true), second.close(true), producer.close()])
verdict('first record delivered after the rejoin (committed offset 4)', 'v4', afterRejoin[0])
