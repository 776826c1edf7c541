import { readFileSync } from 'node:fs'
import type { Config } from '../config/options.ts'
import type { KafkaSecurity } from './platformatic/options.ts'

export type SecuritySettings = Pick<Config, 'kafkaSecurityProtocol' | 'kafkaTlsCa' | 'kafkaTlsCert' | 'kafkaTlsKey' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword'>

/**
 * The clients' TLS and SASL from the configuration (checked by loadConfig: the protocol's settings
 * are given and the PEM files readable). TLS verifies the brokers' certificates and host names
 * (Node's defaults: against --kafka-tls-ca, else the system's CAs); there is no switch to turn
 * that off. The password is handed to the client only, never logged.
 */
export function kafkaSecurity(config: SecuritySettings): KafkaSecurity {
  const protocol = config.kafkaSecurityProtocol
  const security: KafkaSecurity = {}
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const pem = (path: string) => (path === '' ? undefined : readFileSync(path, 'utf8'))
    security.tls = { ca: pem(config.kafkaTlsCa), cert: pem(config.kafkaTlsCert), key: pem(config.kafkaTlsKey) }
  }
  if (protocol === 'SASL_SSL' || protocol === 'SASL_PLAINTEXT') {
    if (config.kafkaSaslMechanism === '') throw new Error('kafkaSecurity: a SASL protocol without a mechanism (loadConfig checks this)')
    security.sasl = { mechanism: config.kafkaSaslMechanism, username: config.kafkaSaslUsername, password: config.kafkaSaslPassword }
  }
  return security
}
