import { type Static, Type } from '@sinclair/typebox'

export const roleNames = ['api', 'order', 'inventory', 'notifier', 'aggregator'] as const
export type RoleName = (typeof roleNames)[number]

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
  },
  { additionalProperties: false },
)
export type Config = Static<typeof ConfigSchema>

type Kind = 'string' | 'integer' | 'list' | 'boolean'

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
}

/** Defaults per profile; flags and SHOP_* variables override them. */
export const profiles: Record<Config['profile'], Omit<Config, 'bus' | 'profile'>> = {
  dev: { ...common, httpHost: '127.0.0.1', dataDir: './data', logLevel: 'debug' },
  prod: { ...common, httpHost: '0.0.0.0', dataDir: '/var/lib/shop', logLevel: 'info' },
}
