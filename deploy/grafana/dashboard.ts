/**
 * The Grafana dashboard of a shop deployment, typed with Grafana's own schema (@grafana/schema).
 * `bun deploy/grafana/dashboard.ts` writes `dashboards/shop.json`, which compose provisions; a test
 * checks the file is what this module makes and evaluates every panel's query on a live Prometheus.
 */
import type { Dashboard, Panel } from '@grafana/schema'

const datasource = { type: 'prometheus', uid: 'prometheus' }

/** Lag reported by several processes counts once per partition. */
const lagByGroup = 'sum by (consumergroup) (max by (consumergroup, topic, partition) (kafka_consumergroup_lag))'

const quantiles = (metric: string, by: string[] = [], window = '5m') =>
  [0.5, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (${[...by, 'le'].join(', ')}) (rate(${metric}_bucket[${window}])))`, legend: `p${q * 100}${by.map((l) => ` {{${l}}}`).join('')}` }))

interface PanelSpec {
  title: string
  description: string
  unit: string
  queries: Array<{ expr: string; legend: string }>
}

/** Rows of two panels, each 12 columns wide and 8 high. */
const specs: PanelSpec[] = [
  { title: 'Orders accepted', description: 'POST /orders answered 202, per second.', unit: 'reqps', queries: [{ expr: 'sum(rate(shop_orders_accepted_total[1m]))', legend: 'accepted' }] },
  {
    title: 'Outcomes and ends',
    description: 'Orders reserved or out of stock (the inventory outcome), and the final statuses, per second.',
    unit: 'ops',
    queries: [{ expr: 'sum by (status) (rate(shop_order_status_changes_total{status=~"reserved|out_of_stock|shipped|payment_failed|cancelled"}[1m]))', legend: '{{status}}' }],
  },
  {
    title: 'End-to-end latency',
    description: 'From acceptance to the inventory outcome, and to the notification delivered.',
    unit: 's',
    queries: [
      ...quantiles('shop_order_outcome_latency_seconds').map((q) => ({ ...q, legend: `outcome ${q.legend}` })),
      ...quantiles('shop_order_notification_latency_seconds').map((q) => ({ ...q, legend: `notified ${q.legend}` })),
    ],
  },
  { title: 'Consumer lag', description: 'Records (offsets) each consumer group has not committed past, summed over partitions.', unit: 'short', queries: [{ expr: lagByGroup, legend: '{{consumergroup}}' }] },
  { title: 'Records processed', description: 'Records in committed transactions, per second, by group.', unit: 'ops', queries: [{ expr: 'sum by (group) (rate(shop_actor_records_total[1m]))', legend: '{{group}}' }] },
  { title: 'Transaction duration', description: 'From begin to commit of the group members\' transactions (each holds the batches its partition actors had ready).', unit: 's', queries: quantiles('shop_transaction_duration_seconds', ['group']) },
  {
    title: 'Transactions',
    description: 'Committed and aborted transactions per second, by group (an aborted batch is retried on reloaded state). api: the api\'s own, at most one per --api-commit-interval-ms unless --api-commit-records wait; orders accepted over these is the orders each carried.',
    unit: 'ops',
    queries: [
      { expr: 'sum by (group) (rate(shop_transactions_total{result="committed"}[1m]))', legend: '{{group}} committed' },
      { expr: 'sum by (group) (rate(shop_transactions_total{result="aborted"}[5m]))', legend: '{{group}} aborted' },
    ],
  },
  {
    title: 'State restores',
    description: 'Partition actors\' state restores in the last 15 minutes, by group (a start, a rebalance, a reload after a failed transaction), and those that waited for a transaction still open on their changelog.',
    unit: 'short',
    queries: [
      { expr: 'sum by (group) (increase(shop_state_restore_duration_seconds_count[15m]))', legend: '{{group}} restores' },
      { expr: 'sum by (group) (increase(shop_state_restore_waits_total[15m]))', legend: '{{group}} waited' },
    ],
  },
  {
    title: 'State entries',
    description: 'Entries of the partition actors\' stores, by group: in memory (written or read since the store\'s last flush to the state cache, at most a second ago) and in the cache alone (read back when a record needs them).',
    unit: 'short',
    queries: [{ expr: 'sum by (group, where) (shop_state_entries)', legend: '{{group}} {{where}}' }],
  },
  { title: 'State restore duration', description: 'Time a partition actor took to restore its stores (cache, then changelog), by group.', unit: 's', queries: quantiles('shop_state_restore_duration_seconds', ['group'], '15m') },
  { title: 'Dead letters', description: 'Records sent to the dead-letter topic in the last 5 minutes, by group and origin.', unit: 'short', queries: [{ expr: 'sum by (group, origin_topic) (increase(shop_dead_letters_total[5m]))', legend: '{{group}} {{origin_topic}}' }] },
  {
    title: 'HTTP errors',
    description: '4xx and 5xx answers per second, by route and status.',
    unit: 'reqps',
    queries: [{ expr: 'sum by (route, status) (rate(shop_http_requests_total{status=~"4..|5.."}[5m]))', legend: '{{route}} {{status}}' }],
  },
  { title: 'HTTP latency', description: 'Time to answer, by route.', unit: 's', queries: quantiles('shop_http_request_duration_seconds', ['route']) },
  {
    title: 'Producer backlog (api)',
    description: 'Orders waiting for their transaction to commit, against --producer-max-in-flight (503 above it).',
    unit: 'short',
    queries: [
      { expr: 'shop_producer_in_flight', legend: 'in flight {{instance}}' },
      { expr: 'shop_producer_in_flight_limit', legend: 'limit {{instance}}' },
    ],
  },
  {
    title: 'Deliveries',
    description: 'Notifications delivered and failed per second, by sink.',
    unit: 'ops',
    queries: [{ expr: 'sum by (sink, result) (rate(shop_notification_deliveries_total[1m]))', legend: '{{sink}} {{result}}' }],
  },
  { title: 'CPU per process', description: 'CPU seconds per second (1 = one core).', unit: 'percentunit', queries: [{ expr: 'rate(process_cpu_seconds_total{job="shop"}[1m])', legend: '{{instance}}' }] },
  { title: 'Memory per process', description: 'Resident set size.', unit: 'bytes', queries: [{ expr: 'process_resident_memory_bytes{job="shop"}', legend: '{{instance}}' }] },
]

function panel(spec: PanelSpec, i: number): Panel {
  return {
    id: i + 1,
    type: 'timeseries',
    title: spec.title,
    description: spec.description,
    datasource,
    gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
    fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: spec.queries.map((q, j) => ({ refId: String.fromCharCode(65 + j), datasource, expr: q.expr, legendFormat: q.legend })),
  }
}

export const dashboard: Dashboard = {
  uid: 'shop-pipeline',
  title: 'shop: order pipeline',
  description: 'Throughput, outcomes, latency, lag, transactions, dead letters, HTTP and processes of a shop deployment.',
  tags: ['shop', 'kafka'],
  timezone: 'utc',
  editable: true,
  schemaVersion: 39,
  refresh: '10s',
  time: { from: 'now-30m', to: 'now' },
  panels: specs.map(panel),
}

/** Every PromQL query of the dashboard, with its panel's title. */
export const panelQueries = (): Array<{ panel: string; expr: string }> => specs.flatMap((s) => s.queries.map((q) => ({ panel: s.title, expr: q.expr })))

export const dashboardJson = () => `${JSON.stringify(dashboard, null, 2)}\n`

if (import.meta.main) await Bun.write(new URL('./dashboards/shop.json', import.meta.url), dashboardJson())
