export { MemoryCluster } from './cluster.ts'
export { MemoryLog, type MemoryLogOptions } from './log.ts'
