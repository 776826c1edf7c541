import type { Config } from '../config/options.ts'
import type { Logger } from '../log.ts'
import { MemoryLog } from './memory/index.ts'
import { KafkaLog } from './platformatic/index.ts'
import type { Log } from './port.ts'
import { type SecuritySettings, kafkaSecurity } from './security.ts'

export type { Log } from './port.ts'

/** The log adapter the configuration asks for. Business code sees only the port. */
export function createLog(config: Pick<Config, 'bus' | 'brokers' | 'requestTimeoutMs' | 'sessionTimeoutMs' | 'memoryRetentionMs'> & SecuritySettings, logger?: Logger): Log {
  if (config.bus === 'memory') return new MemoryLog({ retentionMs: config.memoryRetentionMs })
  return new KafkaLog({
    brokers: config.brokers,
    requestTimeoutMs: config.requestTimeoutMs,
    sessionTimeoutMs: config.sessionTimeoutMs,
    security: kafkaSecurity(config),
    warn: (entry) => logger?.warn(entry),
    info: (entry) => logger?.info(entry),
  })
}
