import { afterEach, expect, spyOn, test } from 'bun:test'
import { Admin } from '@platformatic/kafka'
import { runLogContract } from '../../src/kafka/log-contract.case.test.ts'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { type ConsumedOrigin, consumedOrigins } from '../../src/kafka/platformatic/consumer.ts'
import { eventually } from '../harness/eventually.ts'
import { recorder, unique } from '../harness/log-listener.ts'
import { controlBroker, testBrokers } from './broker.ts'

runLogContract({
  name: 'kafka (real broker)',
  create: () => new KafkaLog({ brokers: testBrokers, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 }),
  patienceMs: 20_000,
  features: { controlBroker },
})

const opened: KafkaLog[] = []
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close()
})

// What a --workers supervisor reads at start (src/workers/pool.ts, rebalanceDelayWarning).
test("brokerSetting reads a broker's setting: the initial rebalance delay scripts/kafka.sh gives its broker; nothing for a name no broker has", async () => {
  const log = new KafkaLog({ brokers: testBrokers })
  opened.push(log)
  const delay = await log.admin.brokerSetting('group.initial.rebalance.delay.ms')
  if (typeof controlBroker === 'function') expect(delay).toBe('100')
  else expect(delay).toMatch(/^\d+$/)
  expect(await log.admin.brokerSetting('shop.no.such.setting')).toBeUndefined()
})

// A Metadata response listing every topic of the cluster costs the broker in proportion to all it
// holds: end offsets and lag samples, which run all the time, must ask for their own topics only.
test('describing and reading the end of existing topics asks for them alone; the cluster is listed only when one is missing', async () => {
  const log = new KafkaLog({ brokers: testBrokers })
  opened.push(log)
  const [a, b] = [unique('described'), unique('described')]
  await log.admin.ensureTopics([{ name: a, partitions: 2 }, { name: b, partitions: 3 }])
  const listing = spyOn(Admin.prototype, 'listTopics')
  try {
    expect(await log.admin.describeTopics([a, b])).toEqual([{ name: a, partitions: 2 }, { name: b, partitions: 3 }])
    expect(await log.admin.endOffsets(b)).toEqual([0n, 0n, 0n])
    expect(listing).toHaveBeenCalledTimes(0)
    expect(await log.admin.describeTopics([a, unique('missing')])).toEqual([{ name: a, partitions: 2 }])
    expect(listing).toHaveBeenCalledTimes(1)
  } finally {
    listing.mockRestore()
  }
})

// Right after a broker comes back, the client may deliver records before it has found its group's
// coordinator again: they carry a null coordinator. Their offsets must still commit (found again
// when sent), not wait on it until the member gives its partitions up.
test("offsets of records delivered while the client did not know its group's coordinator commit", async () => {
  const log = new KafkaLog({ brokers: testBrokers })
  opened.push(log)
  const t = unique('coordinator')
  const group = unique('group')
  await log.admin.ensureTopics([{ name: t, partitions: 1 }])
  await log.producer().send(['a', 'b', 'c'].map((value) => ({ topic: t, value })))
  const { state, listener } = recorder()
  const consumer = log.consumer({ groupId: group, topics: [t] })
  await consumer.start(listener)
  await eventually(() => expect(state.records.length).toBe(3), 20_000)
  // As the client hands records over right after a broker came back: their metadata names no coordinator.
  for (const record of state.records) consumedOrigins.set(record, { ...consumedOrigins.get(record)!, coordinatorId: null } as ConsumedOrigin)
  const transaction = await log.transactionalProducer({ transactionalId: unique('tx') }).begin()
  await transaction.sendOffsets(consumer, state.records)
  await transaction.commit()
  // The offsets are read back as soon as the broker shows them: right after commit() it may still
  // show the previous value for a few ms (README, Troubleshooting). The old code never got here: its
  // sendOffsets timed out.
  await eventually(async () => expect(await log.admin.committedOffsets(group)).toEqual([{ topic: t, partition: 0, offset: 3n }]), 10_000)
})
