import { type Static, Type } from '@sinclair/typebox'

export const roleNames = ['api', 'order', 'inventory', 'payment', 'warehouse', 'shipper', 'notifier', 'projector', 'aggregator'] as const
export type RoleName = (typeof roleNames)[number]
export const sinkNames = ['console', 'webhook', 'smtp'] as const
export type SinkName = (typeof sinkNames)[number]
export const paymentProviders = ['simulator', 'http'] as const

/** The validated configuration of one `shop` process. */
export const ConfigSchema = Type.Object(
  {
    profile: Type.Union([Type.Literal('dev'), Type.Literal('prod')]),
    roles: Type.Array(Type.Union(roleNames.map((r) => Type.Literal(r))), { minItems: 1, uniqueItems: true }),
    bus: Type.Union([Type.Literal('memory'), Type.Literal('kafka')]),
    brokers: Type.Array(Type.String({ pattern: '^[^\\s:]+:\\d{1,5}$' })),
    httpPort: Type.Integer({ minimum: 0, maximum: 65535 }),
    httpHost: Type.String({ minLength: 1 }),
    dataDir: Type.String({ minLength: 1 }),
    partitions: Type.Integer({ minimum: 1, maximum: 10_000 }),
    topicPrefix: Type.String({ pattern: '^[A-Za-z0-9._-]*$' }),
    shutdownTimeoutMs: Type.Integer({ minimum: 100 }),
    requestTimeoutMs: Type.Integer({ minimum: 100 }),
    sessionTimeoutMs: Type.Integer({ minimum: 1_000 }),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    batchMaxRecords: Type.Integer({ minimum: 1, maximum: 100_000 }),
    batchLingerMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
    maxRecordAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
    producerMaxInFlight: Type.Integer({ minimum: 1 }),
    acceptTimeoutMs: Type.Integer({ minimum: 100 }),
    maxOrderBacklog: Type.Integer({ minimum: 1 }),
    idempotencyTtlMs: Type.Integer({ minimum: 1_000 }),
    dedupWindowMs: Type.Integer({ minimum: 1_000 }),
    notify: Type.Array(Type.Union(sinkNames.map((s) => Type.Literal(s))), { minItems: 1, uniqueItems: true }),
    webhookUrl: Type.String({ pattern: '^(https?://.+)?$' }),
    webhookSecret: Type.String(),
    webhookAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
    webhookBackoffMs: Type.Integer({ minimum: 0 }),
    webhookTimeoutMs: Type.Integer({ minimum: 100 }),
    smtpHost: Type.String(),
    smtpPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    smtpTls: Type.Union([Type.Literal('implicit'), Type.Literal('starttls'), Type.Literal('none')]),
    smtpUser: Type.String(),
    smtpPassword: Type.String(),
    smtpFrom: Type.String(),
    smtpTo: Type.String({ minLength: 1 }),
    smtpAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
    smtpBackoffMs: Type.Integer({ minimum: 0 }),
    smtpTimeoutMs: Type.Integer({ minimum: 100 }),
    paymentProvider: Type.Union(paymentProviders.map((p) => Type.Literal(p))),
    paymentLimit: Type.Number({ minimum: 0 }),
    paymentSimulatorFailureRate: Type.Number({ minimum: 0, maximum: 0.99 }),
    paymentSimulatorSeed: Type.Integer(),
    paymentUrl: Type.String({ pattern: '^(https?://.+)?$' }),
    paymentAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
    paymentBackoffMs: Type.Integer({ minimum: 0 }),
    paymentTimeoutMs: Type.Integer({ minimum: 100 }),
    warehousePickMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
    readModel: Type.String({ pattern: '^((sqlite:.+)|(postgres(ql)?://.+))?$' }),
  },
  { additionalProperties: false },
)
export type Config = Static<typeof ConfigSchema>

type Kind = 'string' | 'integer' | 'number' | 'list'

export interface OptionSpec {
  key: keyof Config
  flag: string
  env: string
  kind: Kind
  help: string
}

/** Every setting, once: its flag, its environment variable, its meaning. `--help` prints this table. */
export const optionSpecs: OptionSpec[] = [
  { key: 'roles', flag: 'roles', env: 'SHOP_ROLES', kind: 'list', help: `roles this process runs, comma-separated: ${roleNames.join(',')} (default: all)` },
  { key: 'bus', flag: 'bus', env: 'SHOP_BUS', kind: 'string', help: 'memory (in-process log) or kafka (default: kafka when brokers are set, else memory)' },
  { key: 'brokers', flag: 'brokers', env: 'SHOP_BROKERS', kind: 'list', help: 'Kafka bootstrap brokers, host:port,... (required with --bus=kafka)' },
  { key: 'httpPort', flag: 'http-port', env: 'SHOP_HTTP_PORT', kind: 'integer', help: 'HTTP port for the API, /healthz and /readyz; 0 picks a free port (default 8080)' },
  { key: 'httpHost', flag: 'http-host', env: 'SHOP_HTTP_HOST', kind: 'string', help: 'address the HTTP server binds (default 127.0.0.1 in dev, 0.0.0.0 in prod)' },
  { key: 'dataDir', flag: 'data-dir', env: 'SHOP_DATA_DIR', kind: 'string', help: 'directory for the bun:sqlite state caches (default ./data in dev, /var/lib/shop in prod)' },
  { key: 'partitions', flag: 'partitions', env: 'SHOP_PARTITIONS', kind: 'integer', help: 'partition count of the topics shop creates (default 6)' },
  { key: 'topicPrefix', flag: 'topic-prefix', env: 'SHOP_TOPIC_PREFIX', kind: 'string', help: 'prefix for every topic and consumer group name, to share a cluster (default none)' },
  { key: 'shutdownTimeoutMs', flag: 'shutdown-timeout-ms', env: 'SHOP_SHUTDOWN_TIMEOUT_MS', kind: 'integer', help: 'deadline for a graceful stop on SIGINT/SIGTERM; past it the exit code is 1 (default 10000)' },
  { key: 'requestTimeoutMs', flag: 'request-timeout-ms', env: 'SHOP_REQUEST_TIMEOUT_MS', kind: 'integer', help: 'deadline for any single call to a Kafka broker (default 15000)' },
  { key: 'sessionTimeoutMs', flag: 'session-timeout-ms', env: 'SHOP_SESSION_TIMEOUT_MS', kind: 'integer', help: 'consumer group session timeout: how soon a dead process\'s partitions move (default 10000)' },
  { key: 'logLevel', flag: 'log-level', env: 'SHOP_LOG_LEVEL', kind: 'string', help: 'fatal|error|warn|info|debug|trace|silent (default debug in dev, info in prod)' },
  { key: 'batchMaxRecords', flag: 'batch-max-records', env: 'SHOP_BATCH_MAX_RECORDS', kind: 'integer', help: 'records per actor transaction at most (default 500)' },
  { key: 'batchLingerMs', flag: 'batch-linger-ms', env: 'SHOP_BATCH_LINGER_MS', kind: 'integer', help: 'how long an idle actor waits for more records before it commits a batch (default 0: batches still grow while a commit is in flight)' },
  { key: 'maxRecordAttempts', flag: 'max-record-attempts', env: 'SHOP_MAX_RECORD_ATTEMPTS', kind: 'integer', help: 'attempts to process a failing record before it goes to shop.dlq (default 3)' },
  { key: 'producerMaxInFlight', flag: 'producer-max-in-flight', env: 'SHOP_PRODUCER_MAX_IN_FLIGHT', kind: 'integer', help: 'orders the API may have waiting for the broker; beyond it POST /orders answers 503 (default 1000)' },
  { key: 'acceptTimeoutMs', flag: 'accept-timeout-ms', env: 'SHOP_ACCEPT_TIMEOUT_MS', kind: 'integer', help: 'how long POST /orders waits for the broker before it answers 503 (default 5000)' },
  { key: 'maxOrderBacklog', flag: 'max-order-backlog', env: 'SHOP_MAX_ORDER_BACKLOG', kind: 'integer', help: 'orders.created records not yet taken by the order group beyond which POST /orders answers 503 (default 20000)' },
  { key: 'idempotencyTtlMs', flag: 'idempotency-ttl-ms', env: 'SHOP_IDEMPOTENCY_TTL_MS', kind: 'integer', help: 'how long an Idempotency-Key is remembered (default 86400000: 24 h)' },
  { key: 'dedupWindowMs', flag: 'dedup-window-ms', env: 'SHOP_DEDUP_WINDOW_MS', kind: 'integer', help: 'how long the actors keep a finished order\'s state (its saga, reservations and notification marks) to recognise a redelivered or retried record, at least --idempotency-ttl-ms; then it is deleted (default 86400000: 24 h)' },
  { key: 'notify', flag: 'notify', env: 'SHOP_NOTIFY', kind: 'list', help: `notification sinks, comma-separated: ${sinkNames.join(',')} (default console)` },
  { key: 'webhookUrl', flag: 'webhook-url', env: 'SHOP_WEBHOOK_URL', kind: 'string', help: 'where the webhook sink POSTs notifications (required with --notify=webhook)' },
  { key: 'webhookSecret', flag: 'webhook-secret', env: 'SHOP_WEBHOOK_SECRET', kind: 'string', help: 'HMAC-SHA256 key of the X-Shop-Signature header (required with --notify=webhook)' },
  { key: 'webhookAttempts', flag: 'webhook-attempts', env: 'SHOP_WEBHOOK_ATTEMPTS', kind: 'integer', help: 'delivery attempts per notification before it goes to shop.dlq (default 5)' },
  { key: 'webhookBackoffMs', flag: 'webhook-backoff-ms', env: 'SHOP_WEBHOOK_BACKOFF_MS', kind: 'integer', help: 'wait before the second attempt; doubles each time (default 200)' },
  { key: 'webhookTimeoutMs', flag: 'webhook-timeout-ms', env: 'SHOP_WEBHOOK_TIMEOUT_MS', kind: 'integer', help: 'deadline of one webhook request (default 5000)' },
  { key: 'smtpHost', flag: 'smtp-host', env: 'SHOP_SMTP_HOST', kind: 'string', help: 'the SMTP server of the smtp sink (required with --notify=smtp)' },
  { key: 'smtpPort', flag: 'smtp-port', env: 'SHOP_SMTP_PORT', kind: 'integer', help: 'its port (default 587)' },
  { key: 'smtpTls', flag: 'smtp-tls', env: 'SHOP_SMTP_TLS', kind: 'string', help: 'starttls (required upgrade), implicit (TLS from the start, port 465) or none (a local relay) (default starttls)' },
  { key: 'smtpUser', flag: 'smtp-user', env: 'SHOP_SMTP_USER', kind: 'string', help: 'SMTP user name; empty for no authentication' },
  { key: 'smtpPassword', flag: 'smtp-password', env: 'SHOP_SMTP_PASSWORD', kind: 'string', help: 'SMTP password (prefer the environment variable to the flag)' },
  { key: 'smtpFrom', flag: 'smtp-from', env: 'SHOP_SMTP_FROM', kind: 'string', help: 'the From address of notification mails (required with --notify=smtp)' },
  { key: 'smtpTo', flag: 'smtp-to', env: 'SHOP_SMTP_TO', kind: 'string', help: 'the recipient; {userId} is replaced with the order\'s user (default {userId}: user ids are addresses)' },
  { key: 'smtpAttempts', flag: 'smtp-attempts', env: 'SHOP_SMTP_ATTEMPTS', kind: 'integer', help: 'delivery attempts per mail on network errors, timeouts and 4xx replies before it goes to shop.dlq (default 5)' },
  { key: 'smtpBackoffMs', flag: 'smtp-backoff-ms', env: 'SHOP_SMTP_BACKOFF_MS', kind: 'integer', help: 'wait before the second attempt; doubles each time (default 200)' },
  { key: 'smtpTimeoutMs', flag: 'smtp-timeout-ms', env: 'SHOP_SMTP_TIMEOUT_MS', kind: 'integer', help: 'deadline of connecting, the greeting and each reply (default 10000)' },
  { key: 'paymentProvider', flag: 'payment-provider', env: 'SHOP_PAYMENT_PROVIDER', kind: 'string', help: `how payments are made: ${paymentProviders.join(' or ')} (default simulator)` },
  { key: 'paymentLimit', flag: 'payment-limit', env: 'SHOP_PAYMENT_LIMIT', kind: 'number', help: 'the simulator declines an order whose total exceeds this, reason limit_exceeded (default 5000.00)' },
  { key: 'paymentSimulatorFailureRate', flag: 'payment-simulator-failure-rate', env: 'SHOP_PAYMENT_SIMULATOR_FAILURE_RATE', kind: 'number', help: 'share of simulator calls that fail transiently and are retried, 0 to 0.99 (default 0)' },
  { key: 'paymentSimulatorSeed', flag: 'payment-simulator-seed', env: 'SHOP_PAYMENT_SIMULATOR_SEED', kind: 'integer', help: 'seed of the simulator\'s transient failures (default 1)' },
  { key: 'paymentUrl', flag: 'payment-url', env: 'SHOP_PAYMENT_URL', kind: 'string', help: 'the HTTP provider\'s base URL: POST {url}/charges and {url}/refunds (required with --payment-provider=http)' },
  { key: 'paymentAttempts', flag: 'payment-attempts', env: 'SHOP_PAYMENT_ATTEMPTS', kind: 'integer', help: 'calls per payment on network errors, timeouts, 429 and 5xx before it goes to shop.dlq (default 5)' },
  { key: 'paymentBackoffMs', flag: 'payment-backoff-ms', env: 'SHOP_PAYMENT_BACKOFF_MS', kind: 'integer', help: 'wait before the second call; doubles each time (default 200)' },
  { key: 'paymentTimeoutMs', flag: 'payment-timeout-ms', env: 'SHOP_PAYMENT_TIMEOUT_MS', kind: 'integer', help: 'deadline of one call to the payment provider (default 5000)' },
  { key: 'warehousePickMs', flag: 'warehouse-pick-ms', env: 'SHOP_WAREHOUSE_PICK_MS', kind: 'integer', help: 'simulated pick-and-pack time per order; orders are picked side by side (default 200)' },
  { key: 'readModel', flag: 'read-model', env: 'SHOP_READ_MODEL', kind: 'string', help: 'where the projector writes and GET /orders reads: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB (default sqlite:<data-dir>/read-model.sqlite; in memory on the memory bus)' },
  { key: 'profile', flag: 'profile', env: 'SHOP_PROFILE', kind: 'string', help: 'dev or prod: the defaults above (default dev)' },
]

const common = {
  roles: [...roleNames],
  brokers: [] as string[],
  httpPort: 8080,
  partitions: 6,
  topicPrefix: '',
  shutdownTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  sessionTimeoutMs: 10_000,
  batchMaxRecords: 500,
  batchLingerMs: 0,
  maxRecordAttempts: 3,
  producerMaxInFlight: 1000,
  acceptTimeoutMs: 5_000,
  maxOrderBacklog: 20_000,
  idempotencyTtlMs: 86_400_000,
  dedupWindowMs: 86_400_000,
  notify: ['console'] as SinkName[],
  webhookUrl: '',
  webhookSecret: '',
  webhookAttempts: 5,
  webhookBackoffMs: 200,
  webhookTimeoutMs: 5000,
  smtpHost: '',
  smtpPort: 587,
  smtpTls: 'starttls' as const,
  smtpUser: '',
  smtpPassword: '',
  smtpFrom: '',
  smtpTo: '{userId}',
  smtpAttempts: 5,
  smtpBackoffMs: 200,
  smtpTimeoutMs: 10_000,
  paymentProvider: 'simulator' as const,
  paymentLimit: 5000,
  paymentSimulatorFailureRate: 0,
  paymentSimulatorSeed: 1,
  paymentUrl: '',
  paymentAttempts: 5,
  paymentBackoffMs: 200,
  paymentTimeoutMs: 5000,
  warehousePickMs: 200,
  readModel: '',
}

/** Defaults per profile; flags and SHOP_* variables override them. */
export const profiles: Record<Config['profile'], Omit<Config, 'bus' | 'profile'>> = {
  dev: { ...common, httpHost: '127.0.0.1', dataDir: './data', logLevel: 'debug' },
  prod: { ...common, httpHost: '0.0.0.0', dataDir: '/var/lib/shop', logLevel: 'info' },
}
