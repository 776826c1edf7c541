import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { roleNames } from '../src/config/options.ts'
import { loadConfig } from '../src/config/load.ts'

/**
 * No Docker engine runs on the build machines, so compose.yaml cannot be started here. This
 * checks what can be checked: it parses, and every shop service's command line and environment
 * is a configuration shop accepts.
 */
const root = resolve(import.meta.dir, '..')
const compose = Bun.YAML.parse(await Bun.file(resolve(root, 'compose.yaml')).text()) as {
  services: Record<string, { build?: string; command?: string[]; environment?: Record<string, string>; volumes?: string[] }>
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

  test('Prometheus mounts the alert rules the promtool tests check and scrapes every shop service; Grafana gets the tested dashboard', () => {
    const mounts = (name: string) => (compose.services[name].volumes ?? []).map((v) => v.split(':').slice(0, 2).join(':'))
    expect(mounts('prometheus')).toEqual(['./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml', './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml'])
    const prometheus = Bun.YAML.parse(readFileSync(resolve(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; port: number }> }> }
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml'])
    const scraped = prometheus.scrape_configs.flatMap((c) => c.dns_sd_configs.flatMap((d) => d.names.map((n) => `${n}:${d.port}`)))
    const served = shopServices.map(([name, s]) => `${name}:${loadConfig(s.command ?? [], { SHOP_PROFILE: 'prod', ...s.environment }).config.httpPort}`)
    expect(scraped.sort()).toEqual(served.sort())
    expect(mounts('grafana')).toEqual(['./deploy/grafana/provisioning:/etc/grafana/provisioning', './deploy/grafana/dashboards:/var/lib/grafana/dashboards'])
    expect(existsSync(resolve(root, 'deploy/grafana/dashboards/shop.json'))).toBe(true)
  })

  test('every shop service sends its traces to the compose Jaeger, under its own service name', () => {
    const tracing = shopServices.map(([name, s]) => [name, loadConfig(s.command ?? [], { SHOP_PROFILE: 'prod', ...s.environment }).tracing])
    expect(tracing).toEqual(shopServices.map(([name]) => [name, expect.objectContaining({ url: 'http://jaeger:4318/v1/traces', protocol: 'http/protobuf', serviceName: `shop-${name}` })]))
    expect(compose.services.jaeger).toBeDefined()
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
