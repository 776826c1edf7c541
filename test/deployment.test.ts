import { describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { roleNames } from '../src/config/options.ts'
import { loadConfig } from '../src/config/load.ts'

/**
 * No Docker engine runs on the build machines, so compose.yaml cannot be started here. This
 * checks what can be checked: it parses, and every shop service's command line and environment
 * is a configuration shop accepts.
 */
const compose = Bun.YAML.parse(await Bun.file(resolve(import.meta.dir, '../compose.yaml')).text()) as {
  services: Record<string, { build?: string; command?: string[]; environment?: Record<string, string> }>
}

describe('compose.yaml', () => {
  const shopServices = Object.entries(compose.services).filter(([, s]) => s.build === '.')

  test('runs every role in some shop service, against the compose Kafka', () => {
    const roles = shopServices.flatMap(([, s]) => loadConfig(s.command ?? [], s.environment ?? {}).config.roles)
    expect(new Set(roles)).toEqual(new Set(roleNames))
  })

  test('the api answers from the read model the projector writes: one PostgreSQL for every shop service', () => {
    const readModels = shopServices.map(([, s]) => loadConfig(s.command ?? [], { SHOP_PROFILE: 'prod', ...s.environment }).config.readModel)
    expect(new Set(readModels)).toEqual(new Set(['postgres://shop:shop@postgres:5432/shop']))
    expect(compose.services.postgres).toBeDefined()
  })

  test.each(Object.keys(compose.services).filter((n) => compose.services[n].build === '.'))(
    'service %s has a valid shop configuration on the kafka bus',
    (name) => {
      const service = compose.services[name]
      const { config } = loadConfig(service.command ?? [], { SHOP_PROFILE: 'prod', ...service.environment })
      expect(config.bus).toBe('kafka')
      expect(config.brokers).toEqual(['kafka:9092'])
    },
  )
})
