import type { ConnectionOptions } from 'node:tls'
/** Options of the Kafka adapter (see KafkaLog). */
export interface KafkaLogOptions {
  brokers: string[]
  clientId?: string
  /** Deadline for any single call that waits on the broker, in ms. */
  requestTimeoutMs?: number
  /** Consumer group session timeout: how soon a crashed member's partitions move, in ms. */
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** Records buffered per consumer before fetching pauses. */
  maxBufferedRecords?: number
  /** Where the adapter reports client misbehaviour it worked around. */
  warn?: (entry: Record<string, unknown>) => void
  /** Where the adapter reports what it did as a matter of course (records read again after a rebalance). */
  info?: (entry: Record<string, unknown>) => void
  /**
   * Bytes of records per Produce request at most (concurrent sends are coalesced up to it; larger
   * sends are split). Below the broker's default message.max.bytes of 1 MiB, with headroom.
   */
  maxRequestBytes?: number
  /**
   * The first wait before a transactional request answered CONCURRENT_TRANSACTIONS (the previous
   * transaction's markers not written yet) is sent again, in ms; it doubles up to 20 ms. The Java
   * client waits a flat 20 ms. Measured by `bun bench throughput` ("back-to-back transactions").
   */
  concurrentTransactionsRetryMs?: number
  /** TLS and SASL of every connection to the brokers; none: plaintext. */
  security?: KafkaSecurity
}

/** How the clients authenticate the brokers and themselves (see src/kafka/security.ts). */
export interface KafkaSecurity {
  /** Node's TLS options (ca, cert, key); absent: no TLS. */
  tls?: ConnectionOptions
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
}

export const kafkaLogDefaults = {
  clientId: 'shop',
  requestTimeoutMs: 15_000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  maxBufferedRecords: 5_000,
  warn: () => {},
  info: () => {},
  security: {},
  maxRequestBytes: 512 * 1024,
  concurrentTransactionsRetryMs: 2,
} satisfies Omit<Required<KafkaLogOptions>, 'brokers'>

/** What every platformatic client of one log is built with. */
export interface ClientBase {
  clientId: string
  bootstrapBrokers: string[]
  tls?: ConnectionOptions
  sasl?: KafkaSecurity['sasl']
  /** Deadline of one broker call, in ms (platformatic's own request timeout, and shop's). */
  timeout: number
  retries: number
  /** The wait before the client's own retry `attempt` of a failed request. */
  retryDelay: (client: unknown, operation: string, attempt: number, retries: number, error: unknown) => number
}
