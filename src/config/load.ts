import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError } from '../errors.ts'
import { type Config, ConfigSchema, engineRamMbByBus, type OptionSpec, optionSpecs, profiles, unpartitionedRoles } from './options.ts'
import { validate } from './validate.ts'
import { type TracingSettings, tracingSettings, tracingVariables } from '../observability/tracing.ts'

export interface Invocation {
  /** `run` (default), or a subcommand with its arguments. */
  command: string[]
  help: boolean
  version: boolean
  config: Config
  /** From the standard OTEL_* variables; undefined: tracing off. */
  tracing: TracingSettings | undefined
}

function convert(spec: OptionSpec, raw: string, source: string): unknown {
  switch (spec.kind) {
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean)
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`expected an integer; got "${raw}"`, source)
      return Number(raw)
    }
    case 'number': {
      if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) throw new ConfigError(`expected a number; got "${raw}"`, source)
      return Number(raw)
    }
    default:
      return raw
  }
}

/**
 * Reads the command line and the environment. Precedence: flags, then SHOP_* variables, then the
 * profile's defaults. Throws ConfigError naming the setting at fault; nothing starts on a bad config.
 */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): Invocation {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        ...Object.fromEntries(optionSpecs.map((s) => [s.flag, { type: 'string' as const }])),
      },
    })
  } catch (error) {
    throw new ConfigError((error as Error).message.replace(/\. To specify.*$/s, ''))
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>
  const given: Partial<Record<keyof Config, unknown>> = {}
  for (const spec of optionSpecs) {
    const fromEnv = env[spec.env]
    if (fromEnv !== undefined && fromEnv !== '') given[spec.key] = convert(spec, fromEnv, spec.env)
    const fromFlag = flags[spec.flag]
    if (typeof fromFlag === 'string') given[spec.key] = convert(spec, fromFlag, `--${spec.flag}`)
  }
  const profile = (given.profile ?? 'dev') as Config['profile']
  if (!(profile in profiles)) throw new ConfigError(`must be dev or prod; got "${String(profile)}"`, setting('profile'))
  const brokers = (given.brokers as string[] | undefined) ?? []
  const bus = given.bus ?? (brokers.length > 0 ? 'kafka' : 'memory')
  const merged = {
    ...profiles[profile],
    bus,
    engineRamMb: engineRamMbByBus[bus as Config['bus']] ?? 0,
    ...given,
    profile,
  }
  let config: Config
  try {
    config = validate(ConfigSchema, merged, 'config')
  } catch (error) {
    throw error instanceof ConfigError ? asSettingError(error) : error
  }
  if (config.bus === 'kafka' && config.brokers.length === 0) {
    throw new ConfigError('required with --bus=kafka (or set SHOP_BROKERS)', '--brokers')
  }
  if (config.dedupWindowMs < config.idempotencyTtlMs) {
    // A retried POST within the key's lifetime republishes the same orderId; its saga must still be there to recognise it.
    throw new ConfigError(`must be at least --idempotency-ttl-ms (${config.idempotencyTtlMs}); got ${config.dedupWindowMs}`, setting('dedupWindowMs'))
  }
  checkKafkaSecurity(config)
  if (config.workers > 1) {
    // The in-memory log lives in one process; workers share the partitions of a broker's topics.
    if (config.bus !== 'kafka') throw new ConfigError(`needs --bus=kafka: the in-memory bus lives in one process; got --workers=${config.workers} on the memory bus`, setting('workers'))
    if (!config.roles.some((r) => !unpartitionedRoles.has(r))) throw new ConfigError(`needs a role that consumes (api and registry run in the supervising process); the roles are ${config.roles.join(',')}`, setting('workers'))
  }
  if (config.adminToken !== '' && config.adminToken.length < 16) {
    throw new ConfigError(`must be at least 16 characters; got ${config.adminToken.length}`, setting('adminToken'))
  }
  if (config.profile === 'prod' && config.adminToken === '' && config.roles.some((r) => r === 'api' || r === 'registry')) {
    throw new ConfigError('required by the prod profile for the api and registry roles (it guards PUT /stock and the registry\'s PUT /config)', setting('adminToken'))
  }
  if (config.notify.includes('webhook')) {
    if (!config.webhookUrl) throw new ConfigError('required with --notify=webhook', setting('webhookUrl'))
    if (!config.webhookSecret) throw new ConfigError('required with --notify=webhook', setting('webhookSecret'))
  }
  if (config.notify.includes('smtp')) {
    if (!config.smtpHost) throw new ConfigError('required with --notify=smtp', setting('smtpHost'))
    if (!config.smtpFrom) throw new ConfigError('required with --notify=smtp', setting('smtpFrom'))
  }
  if (config.paymentProvider === 'http' && config.roles.includes('payment') && !config.paymentUrl) {
    throw new ConfigError('required with --payment-provider=http', setting('paymentUrl'))
  }
  return {
    command: parsed.positionals.length > 0 ? parsed.positionals : ['run'],
    help: flags.help === true,
    version: flags.version === true,
    config,
    tracing: tracingSettings(env),
  }
}

/** A setting as the user writes it: `--http-port (SHOP_HTTP_PORT)`, `--roles item 2 (SHOP_ROLES)`. */
function setting(key: keyof Config, item?: number): string {
  const spec = optionSpecs.find((s) => s.key === key)!
  return `--${spec.flag}${item === undefined ? '' : ` item ${item}`} (${spec.env})`
}

/** Names the setting of a schema error as the user wrote it rather than `config.httpPort`. */
function asSettingError(error: ConfigError): ConfigError {
  const [, key, ...rest] = (error.path ?? '').split('.')
  if (!optionSpecs.some((s) => s.key === key)) return error
  const message = error.message.slice((error.path ?? '').length + 2)
  return new ConfigError(message, setting(key as keyof Config, rest.length > 0 ? Number(rest[0]) + 1 : undefined))
}

export function helpText(version: string): string {
  const rows = optionSpecs.map((s) => {
    const flag = `  --${s.flag}=${s.kind === 'list' ? 'A,B' : s.kind === 'integer' || s.kind === 'number' ? 'N' : 'VALUE'}`
    return `${flag.padEnd(30)} ${s.help}\n${''.padEnd(31)}env: ${s.env}`
  })
  return [
    `shop ${version}: event-driven order pipeline on Apache Kafka`,
    '',
    'Usage: shop [options]            run the roles (all but audit by default) until SIGINT/SIGTERM',
    '       shop stock set SKU QTY     set a SKU\'s available stock (through its InventoryActor)',
    '       shop stock get SKU         print a SKU\'s stock as {"sku","available","reserved"}',
    '       shop rebuild read-model    drop the read model (--read-model) and fold order.status into it again',
    '       shop probe [ready|alive]   exit 0 if the shop on this host (--http-port) is ready (alive); for health checks',
    '       shop acls User:NAME        print the Kafka ACLs this deployment (--topic-prefix) needs, as kafka-acls.sh arguments',
    '       shop --help | --version',
    '',
    'Options (flags override SHOP_* environment variables, which override the profile defaults):',
    ...rows,
    '',
    'Tracing (OpenTelemetry\'s standard variables; spans go over OTLP/HTTP):',
    ...tracingVariables.map(([name, help]) => `  ${name.padEnd(37)} ${help}`),
    '',
    'Exit codes: 0 clean stop, 1 stop deadline missed or command failed (unknown SKU, broker or database error), 2 bad command line or config, 70 supervisor escalation.',
  ].join('\n')
}

/** The broker security settings agree with the protocol, and every PEM file named can be read. */
function checkKafkaSecurity(config: Config): void {
  const protocol = config.kafkaSecurityProtocol
  const sasl = protocol.startsWith('SASL_')
  const tls = protocol.endsWith('SSL')
  if (sasl) {
    for (const key of ['kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword'] as const) {
      if (config[key] === '') throw new ConfigError(`required with --kafka-security-protocol=${protocol}`, setting(key))
    }
  } else {
    for (const key of ['kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword'] as const) {
      if (config[key] !== '') throw new ConfigError(`only used with --kafka-security-protocol=SASL_SSL or SASL_PLAINTEXT; the protocol is ${protocol}`, setting(key))
    }
  }
  for (const key of ['kafkaTlsCa', 'kafkaTlsCert', 'kafkaTlsKey'] as const) {
    if (config[key] === '') continue
    if (!tls) throw new ConfigError(`only used with --kafka-security-protocol=SSL or SASL_SSL; the protocol is ${protocol}`, setting(key))
    let text: string
    try {
      text = readFileSync(config[key], 'utf8')
    } catch (error) {
      throw new ConfigError(`cannot read ${config[key]} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, setting(key))
    }
    if (!text.includes('-----BEGIN ')) throw new ConfigError(`${config[key]} is not a PEM file (no -----BEGIN line)`, setting(key))
  }
  if ((config.kafkaTlsCert === '') !== (config.kafkaTlsKey === '')) {
    throw new ConfigError('a client certificate needs both --kafka-tls-cert and --kafka-tls-key', setting(config.kafkaTlsCert === '' ? 'kafkaTlsCert' : 'kafkaTlsKey'))
  }
}
