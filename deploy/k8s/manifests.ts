/**
 * The Kubernetes base of a shop deployment (`deploy/k8s/base/`), made from one table of services
 * so that every role gets the same probes, limits, security and disruption budget.
 * `bun deploy/k8s/manifests.ts` writes the files; test/deployment.test.ts checks they are what this
 * module makes, builds every overlay with kustomize and validates it with kubernetes-validate.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { profiles } from '../../src/config/options.ts'

export interface ServiceSpec {
  name: string
  roles: string
  replicas: number
  /** Upper bound of the autoscaler; a consumer role's is the partition count (more members would idle). */
  maxReplicas: number
  cpu: { request: string; limit: string }
  memory: { request: string; limit: string }
}

/** Partitions of shop's topics (SHOP_PARTITIONS); see README, Kubernetes, to raise them. */
export const partitions = 6
const small = { cpu: { request: '100m', limit: '1' }, memory: { request: '256Mi', limit: '512Mi' } }
const busy = { cpu: { request: '500m', limit: '2' }, memory: { request: '512Mi', limit: '1Gi' } }

export const services: ServiceSpec[] = [
  { name: 'api', roles: 'api,registry', replicas: 2, maxReplicas: 10, ...busy },
  { name: 'order', roles: 'order', replicas: 2, maxReplicas: partitions, ...busy },
  { name: 'inventory', roles: 'inventory', replicas: 2, maxReplicas: partitions, ...busy },
  { name: 'payment', roles: 'payment', replicas: 2, maxReplicas: partitions, ...small },
  { name: 'fulfilment', roles: 'warehouse,shipper', replicas: 2, maxReplicas: partitions, ...small },
  { name: 'notifier', roles: 'notifier', replicas: 2, maxReplicas: partitions, ...small },
  { name: 'projector', roles: 'projector', replicas: 2, maxReplicas: partitions, ...small },
  { name: 'aggregator', roles: 'aggregator', replicas: 2, maxReplicas: partitions, ...small },
  // Feeds Kafka Connect's audit sink (deploy/connect/audit-sink.json; README, Audit tables).
  { name: 'audit', roles: 'audit', replicas: 2, maxReplicas: partitions, ...small },
]

const port = 8080
/** Longer than shop's drain (--shutdown-timeout-ms, 10 s by default) plus the endpoints' removal. */
export const terminationGraceSeconds = Math.ceil(profiles.prod.shutdownTimeoutMs / 1000) + 20
const labels = (name: string) => ({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/component': name })

function deployment(s: ServiceSpec) {
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: 'http' }, periodSeconds, timeoutSeconds: 3, failureThreshold })
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `shop-${s.name}`, labels: labels(s.name) },
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: labels(s.name) },
      // One member leaves, then one joins: each move is one rebalance of the role's group.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(s.name) },
        spec: {
          terminationGracePeriodSeconds: terminationGraceSeconds,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'shop',
              image: 'shop:0.1.0',
              ports: [{ name: 'http', containerPort: port }],
              env: [
                { name: 'SHOP_ROLES', value: s.roles },
                { name: 'OTEL_SERVICE_NAME', value: `shop-${s.name}` },
              ],
              envFrom: [{ configMapRef: { name: 'shop-config' } }, { secretRef: { name: 'shop-secrets' } }],
              // Starting waits for the broker and restores state: up to 5 minutes before liveness counts.
              startupProbe: probe('/healthz', 5, 60),
              livenessProbe: probe('/healthz', 10, 3),
              readinessProbe: probe('/readyz', 5, 2),
              resources: { requests: { cpu: s.cpu.request, memory: s.memory.request }, limits: { cpu: s.cpu.limit, memory: s.memory.limit } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              // State caches only: a new pod rebuilds them from the changelogs.
              volumeMounts: [{ name: 'state', mountPath: '/var/lib/shop' }],
            },
          ],
          volumes: [{ name: 'state', emptyDir: { sizeLimit: '1Gi' } }],
        },
      },
    },
  }
}

const budget = (s: ServiceSpec) => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: `shop-${s.name}`, labels: labels(s.name) },
  spec: { maxUnavailable: 1, selector: { matchLabels: labels(s.name) } },
})

const autoscaler = (s: ServiceSpec) => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: `shop-${s.name}`, labels: labels(s.name) },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `shop-${s.name}` },
    minReplicas: s.replicas,
    maxReplicas: s.maxReplicas,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    // Every change of a consumer role's size is a rebalance: scale down slowly.
    behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } },
  },
})

const config = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'shop-config', labels: { 'app.kubernetes.io/name': 'shop' } },
  data: {
    SHOP_PROFILE: 'prod',
    SHOP_BROKERS: 'kafka-bootstrap:9092',
    SHOP_PARTITIONS: String(partitions),
    SHOP_HTTP_PORT: String(port),
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
  },
}

const apiService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'shop-api', labels: labels('api') },
  spec: { selector: labels('api'), ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
}

/** Nothing reaches shop's pods but the api's clients (to the api) and Prometheus (to every pod's /metrics). */
const networkPolicies = [
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'shop-workers-ingress' },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'shop' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 'http', protocol: 'TCP' }] }],
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'shop-api-ingress' },
    spec: { podSelector: { matchLabels: labels('api') }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'http', protocol: 'TCP' }] }] },
  },
]

const serviceMonitor = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PodMonitor',
  metadata: { name: 'shop', labels: { 'app.kubernetes.io/name': 'shop' } },
  spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'shop' } }, podMetricsEndpoints: [{ port: 'http', path: '/metrics', interval: '10s' }] },
}

/** The alert rules Prometheus loads in compose and the promtool tests check, as the operator's resource. */
function prometheusRule(alertsYml: string) {
  const { groups } = Bun.YAML.parse(alertsYml) as { groups: unknown[] }
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'shop', labels: { 'app.kubernetes.io/name': 'shop' } }, spec: { groups } }
}

const yaml = (...documents: unknown[]) => `# Made by deploy/k8s/manifests.ts; edit that, then run it.\n${documents.map((d) => Bun.YAML.stringify(d, null, 2)).join('\n---\n')}\n`

/** The base's files, by name. */
export function baseFiles(): Record<string, string> {
  const alerts = readFileSync(join(import.meta.dir, '../prometheus/alerts.yml'), 'utf8')
  const files: Record<string, string> = {
    'config.yaml': yaml(config),
    'api-service.yaml': yaml(apiService),
    'network-policies.yaml': yaml(...networkPolicies),
    'monitoring.yaml': yaml(serviceMonitor, prometheusRule(alerts)),
  }
  for (const s of services) files[`${s.name}.yaml`] = yaml(deployment(s), budget(s), autoscaler(s))
  files['kustomization.yaml'] = yaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: Object.keys(files).toSorted() })
  return files
}

if (import.meta.main) {
  for (const [name, text] of Object.entries(baseFiles())) writeFileSync(join(import.meta.dir, 'base', name), text)
}
