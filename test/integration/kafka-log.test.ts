import { runLogContract } from '../../src/kafka/log-contract.ts'
import { KafkaLog } from '../../src/kafka/platformatic.ts'
import { testBrokers } from './broker.ts'

runLogContract({
  name: 'kafka (real broker)',
  create: () => new KafkaLog({ brokers: testBrokers, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 }),
  patienceMs: 20_000,
})
