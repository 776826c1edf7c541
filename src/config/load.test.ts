import { describe, expect, test } from 'bun:test'
import { ConfigError } from '../errors.ts'
import { loadConfig } from './load.ts'

describe('loadConfig', () => {
  test('defaults: every role but audit (it feeds Kafka Connect), the in-memory bus, port 8080, the dev profile', () => {
    const { config, command } = loadConfig([], {})
    expect(command).toEqual(['run'])
    expect(config).toMatchObject({ roles: ['api', 'order', 'inventory', 'payment', 'warehouse', 'shipper', 'notifier', 'projector', 'aggregator', 'registry'], bus: 'memory', httpPort: 8080, profile: 'dev', partitions: 6 })
  })

  test('flags override SHOP_* variables, which override the profile', () => {
    const env = { SHOP_HTTP_PORT: '9000', SHOP_ROLES: 'api', SHOP_PROFILE: 'prod', SHOP_DATA_DIR: '/srv/shop' }
    const { config } = loadConfig(['--http-port=9100', '--roles', 'inventory,notifier'], env)
    expect(config.httpPort).toBe(9100)
    expect(config.roles).toEqual(['inventory', 'notifier'])
    expect(config.dataDir).toBe('/srv/shop')
    expect(config.httpHost).toBe('0.0.0.0')
    expect(config.logLevel).toBe('info')
  })

  test('brokers select the kafka bus unless --bus says otherwise', () => {
    expect(loadConfig(['--brokers=k1:9092,k2:9092'], {}).config).toMatchObject({ bus: 'kafka', brokers: ['k1:9092', 'k2:9092'] })
    expect(loadConfig(['--bus=memory'], { SHOP_BROKERS: 'k1:9092' }).config.bus).toBe('memory')
  })

  test("the engine's memory: 4096 MiB on the kafka bus, left to the engine on the memory bus, unless set", () => {
    expect(loadConfig(['--brokers=k1:9092'], {}).config.engineRamMb).toBe(4096)
    expect(loadConfig([], {}).config.engineRamMb).toBe(0)
    expect(loadConfig(['--bus=memory'], { SHOP_BROKERS: 'k1:9092' }).config.engineRamMb).toBe(0)
    expect(loadConfig(['--brokers=k1:9092', '--engine-ram-mb=0'], {}).config.engineRamMb).toBe(0)
    expect(loadConfig([], { SHOP_ENGINE_RAM_MB: '2048' }).config.engineRamMb).toBe(2048)
  })

  const bad: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['an unknown role', ['--roles=api,shipping'], {}, /--roles item 2.*must be one of api, order, inventory, payment, warehouse, shipper, notifier, projector, aggregator, registry, audit; got "shipping"/],
    ['a port out of range', ['--http-port=70000'], {}, /--http-port.*65535/],
    ['a port that is not a number', [], { SHOP_HTTP_PORT: 'eighty' }, /SHOP_HTTP_PORT: expected an integer; got "eighty"/],
    ['kafka without brokers', ['--bus=kafka'], {}, /--brokers: required with --bus=kafka/],
    ['an unknown bus', ['--bus=redis'], {}, /--bus.*must be one of memory, kafka/],
    ['a broker without a port', ['--brokers=localhost'], {}, /--brokers item 1/],
    ['an unknown flag', ['--colour=blue'], {}, /Unknown option '--colour'/],
    ['an unknown profile', ['--profile=staging'], {}, /--profile.*must be dev or prod/],
    ['zero partitions', ['--partitions=0'], {}, /--partitions/],
    ['a negative engine memory', ['--engine-ram-mb=-1'], {}, /--engine-ram-mb \(SHOP_ENGINE_RAM_MB\)/],
    ['a dedup window shorter than the idempotency TTL', ['--dedup-window-ms=60000'], {}, /--dedup-window-ms \(SHOP_DEDUP_WINDOW_MS\): must be at least --idempotency-ttl-ms \(86400000\); got 60000/],
    ['the prod profile serving the api without an admin token', ['--roles=api'], { SHOP_PROFILE: 'prod' }, /--admin-token \(SHOP_ADMIN_TOKEN\): required by the prod profile for the api and registry roles/],
    ['the prod profile serving the registry without an admin token', ['--profile=prod', '--roles=registry'], {}, /--admin-token \(SHOP_ADMIN_TOKEN\): required by the prod profile/],
    ['an admin token shorter than 16 characters', [], { SHOP_ADMIN_TOKEN: 'short' }, /--admin-token \(SHOP_ADMIN_TOKEN\): must be at least 16 characters; got 5/],
  ]
  test.each(bad)('rejects %s with a ConfigError naming it', (_what, argv, env, message) => {
    let error: unknown
    try {
      loadConfig(argv, env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(message)
  })
})
