import { expect, test } from 'bun:test'
import { runLogContract } from '../log-contract.case.test.ts'
import { MemoryCluster, MemoryLog } from './index.ts'

// Logs share one cluster, as processes share a Kafka cluster; each test uses its own topics and groups.
const cluster = new MemoryCluster()
runLogContract({
  name: 'memory',
  create: () => new MemoryLog({ cluster }),
  patienceMs: 2_000,
  features: { controlBroker: 'the memory log lives inside the process: there is no broker to act on' },
})

test('the memory log has no broker, so no broker settings', async () => {
  expect(await new MemoryLog({ cluster }).admin.brokerSetting('group.initial.rebalance.delay.ms')).toBeUndefined()
})
