import { MemoryLog } from '../../src/kafka/memory/index.ts'
import { runPipelineCases } from './cases.ts'
import { runAggregatorCases } from './aggregator-cases.ts'

runPipelineCases({ name: 'memory bus', busFlags: [], createLog: (sibling) => new MemoryLog({ cluster: (sibling as MemoryLog | undefined)?.cluster }), patienceMs: 5_000 })
runAggregatorCases({ name: 'memory bus', busFlags: [], createLog: (sibling) => new MemoryLog({ cluster: (sibling as MemoryLog | undefined)?.cluster }), patienceMs: 5_000 })
