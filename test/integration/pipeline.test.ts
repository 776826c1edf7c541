import { runAggregatorCases } from '../pipeline/aggregator-cases.ts'
import { runPipelineCases } from '../pipeline/cases.ts'
import { kafka } from './broker.ts'

runPipelineCases(kafka)
runAggregatorCases(kafka)
