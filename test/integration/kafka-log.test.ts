import { runLogContract } from '../../src/kafka/log-contract.case.test.ts'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { controlBroker, testBrokers } from './broker.ts'

runLogContract({
  name: 'kafka (real broker)',
  create: () => new KafkaLog({ brokers: testBrokers, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 }),
  patienceMs: 20_000,
  features: { controlBroker },
})
