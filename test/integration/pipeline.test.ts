import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { runAggregatorCases } from '../pipeline/aggregator-cases.ts'
import { type PipelineCasesOptions, runPipelineCases } from '../pipeline/cases.ts'
import { testBrokers } from './broker.ts'

const kafka: PipelineCasesOptions = {
  name: 'kafka (real broker)',
  busFlags: [`--brokers=${testBrokers.join(',')}`, '--session-timeout-ms=6000'],
  createLog: () => new KafkaLog({ brokers: testBrokers, sessionTimeoutMs: 6_000 }),
  patienceMs: 30_000,
}
runPipelineCases(kafka)
runAggregatorCases(kafka)
