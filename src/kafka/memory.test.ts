import { runLogContract } from './log-contract.ts'
import { MemoryCluster, MemoryLog } from './memory.ts'

// Logs share one cluster, as processes share a Kafka cluster; each test uses its own topics and groups.
const cluster = new MemoryCluster()
runLogContract({ name: 'memory', create: () => new MemoryLog({ cluster }), patienceMs: 2_000 })
