import { AggregatorRegistry, Counter, Gauge, Histogram, type MetricObjectWithValues, type MetricValue, Registry, collectDefaultMetrics } from 'prom-client'

/** One process's metrics as prom-client's JSON (`GET /metrics?format=json`), which a supervising process sums. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[]

/** Seconds, from a millisecond HTTP call to a minute-long order life. */
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/** Records per batch, up to --batch-max-records' default and beyond. */
const batchBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
/** prom-client's default gauges of the heap's spaces (see the constructor). */
const heapSpaceMetrics = ['total', 'used', 'available'].map((kind) => `nodejs_heap_space_size_${kind}_bytes`)

/**
 * The Prometheus metrics of one process, served at `GET /metrics`. Each Shop has its own registry
 * (tests run several in one process). Names follow Prometheus conventions: `shop_` prefix, base
 * units, `_total` counters, `_seconds` histograms; consumer lag keeps kafka_exporter's names so
 * that existing dashboards and alerts work. Counters of actor work count committed transactions
 * only, so a batch retried after an abort is counted once.
 */
export class Metrics {
  readonly registry = new Registry()

  readonly httpRequests = this.#counter('shop_http_requests_total', 'HTTP requests answered, by route (the route pattern), method and status.', ['method', 'route', 'status'])
  readonly httpDuration = this.#histogram('shop_http_request_duration_seconds', 'Time to answer an HTTP request.', ['method', 'route', 'status'], latencyBuckets)

  readonly ordersAccepted = this.#counter('shop_orders_accepted_total', 'Orders published to orders.created and answered 202 (an Idempotency-Key replay is not counted again).')
  readonly ordersRefused = this.#counter('shop_orders_refused_total', 'Orders answered 503 before anything was published: too many waiting for the broker (in_flight) or the pipeline too far behind (backlog).', ['reason'])
  readonly producerInFlight = this.#gauge('shop_producer_in_flight', 'Orders and cancels of this api process waiting for their transaction to commit.')
  readonly producerInFlightLimit = this.#gauge('shop_producer_in_flight_limit', 'The in-flight count above which orders are refused with 503 (--producer-max-in-flight).', [], 'max')
  readonly orderBacklog = this.#gauge('shop_order_backlog', 'orders.created records the order group has not committed past, as the api samples it for admission.')
  readonly orderBacklogLimit = this.#gauge('shop_order_backlog_limit', 'The backlog above which orders are refused with 503 (--max-order-backlog).', [], 'max')

  readonly orderStatuses = this.#counter('shop_order_status_changes_total', 'Status changes committed by the order actor, by status (reserved and out_of_stock are the inventory outcomes; shipped, out_of_stock, payment_failed and cancelled are final).', ['status'])
  readonly outcomeLatency = this.#histogram('shop_order_outcome_latency_seconds', 'From acceptance (the order event\'s time) to the committed inventory outcome.', ['outcome'], latencyBuckets)
  readonly notificationLatency = this.#histogram('shop_order_notification_latency_seconds', 'From acceptance to a notification delivered, by sink and status.', ['sink', 'status'], latencyBuckets)

  readonly records = this.#counter('shop_actor_records_total', 'Records processed in committed transactions, by consumer group.', ['group'])
  readonly batchRecords = this.#histogram('shop_actor_batch_records', 'Records per committed batch, by consumer group.', ['group'], batchBuckets)
  readonly transactions = this.#counter('shop_transactions_total', 'Transactions of the group members (each holds the batches its partition actors had ready), by group and result (committed, aborted).', ['group', 'result'])
  readonly transactionDuration = this.#histogram('shop_transaction_duration_seconds', 'From begin to commit of a group member\'s transaction (handling excluded).', ['group'], latencyBuckets)
  readonly transactionBatches = this.#histogram('shop_transaction_batches', 'Partition actor batches per committed transaction, by consumer group.', ['group'], batchBuckets)
  readonly lateRecords = this.#counter('shop_aggregator_late_records_total', 'Records (orders and outcomes) that reached their orders-per-minute window after it was final: counted in the window\'s `late`, not in its counts.', [])
  readonly deadLetters = this.#counter('shop_dead_letters_total', 'Records sent to the dead-letter topic in committed transactions, by group and origin topic.', ['group', 'origin_topic'])

  readonly restoreDuration = this.#histogram('shop_state_restore_duration_seconds', 'Time a partition actor took to restore its stores from their cache and changelogs (on start, and to reload after a failed transaction), by group; waits for an open transaction on a changelog included.', ['group'], latencyBuckets)
  readonly restoredRecords = this.#counter('shop_state_restored_records_total', 'Changelog records replayed by restores (what the state cache did not already hold), by group.', ['group'])
  readonly restoreWaits = this.#counter('shop_state_restore_waits_total', 'Store restores that found a transaction open on their changelog partition and waited for it to end (`actor:store:unsettled`), by group.', ['group'])
  readonly stateEntries = this.#gauge('shop_state_entries', 'Entries of a partition actor\'s stores, by group, partition and where they are: memory (written or read since the store\'s last flush to the state cache, at most a second ago) or cache (in the state cache alone, read back when a record needs them).', ['group', 'partition', 'where'])

  readonly actorRestarts = this.#counter('shop_actor_restarts_total', 'Actors restarted by their supervisor after a failure, by kind: a role\'s partition actors (`order`) or its group member (`order-member`).', ['actor'])
  readonly escalations = this.#counter('shop_supervisor_escalations_total', 'Failures a supervisor could not handle and passed up (at the top, the process exits 70).')

  readonly deliveries = this.#counter('shop_notification_deliveries_total', 'Notifications handed to a sink, by sink and result (delivered, failed: dead-lettered).', ['sink', 'result'])
  readonly deliveryRetries = this.#counter('shop_notification_retries_total', 'Notification calls that failed transiently and were tried again, by sink.', ['sink'])
  readonly paymentCalls = this.#counter('shop_payment_requests_total', 'Charges and refunds asked of the payment provider, by kind (charge, refund) and result (performed, declined, failed: attempts spent).', ['kind', 'result'])
  readonly paymentRetries = this.#counter('shop_payment_retries_total', 'Payment provider calls that failed transiently and were tried again.')

  readonly roleReady = this.#gauge('shop_role_ready', '1 when the role runs in this process (or in each of its workers) and is ready, 0 when it runs and is not.', ['role'], 'min')

  readonly consumerLag = this.#gauge('kafka_consumergroup_lag', 'Last stable offset minus the committed offset (a transaction marker counts as an offset).', ['consumergroup', 'topic', 'partition'])
  readonly consumerOffset = this.#gauge('kafka_consumergroup_current_offset', 'The committed offset of a consumer group on a partition.', ['consumergroup', 'topic', 'partition'])
  readonly traceSpans = this.#counter('shop_trace_spans_total', 'Finished spans handed to the OTLP exporter, by result (exported, failed: the collector did not take them). Absent while tracing is off.', ['result'])

  readonly lagSampleErrors = this.#counter('shop_lag_sample_errors_total', 'Consumer lag samples that failed (the broker away); the lag gauges keep their last values.')

  constructor() {
    this.escalations.inc(0)
    // process_cpu_seconds_total, process_resident_memory_bytes, heap and GC figures: the standard names.
    collectDefaultMetrics({ register: this.registry })
    // Not the heap's spaces: Bun answers v8.getHeapSpaceStatistics by walking the heap, so every
    // scrape stopped the process for as long as its heap was large. A shop process on the memory
    // bus after 30,000 orders (636 MB resident) answered GET /metrics in 107 to 117 ms with them,
    // 2 to 15 ms without. The heap's size and use stay (nodejs_heap_size_*_bytes, from
    // process.memoryUsage, which does not walk it).
    for (const metric of heapSpaceMetrics) this.registry.removeSingleMetric(metric)
  }

  readonly #onScrape: Array<() => void> = []

  /** Runs `refresh` before each scrape (gauges read from the process's state, such as readiness). */
  onScrape(refresh: () => void): void {
    this.#onScrape.push(refresh)
  }

  readonly #included: Array<() => Promise<MetricsJson[]>> = []

  /**
   * Adds other processes' metrics (a supervisor's workers) to what this one serves: summed per
   * series, as prom-client's cluster mode does; a gauge that a sum would misstate says otherwise
   * (shop_role_ready is the minimum, limits the maximum).
   */
  include(source: () => Promise<MetricsJson[]>): void {
    this.#included.push(source)
  }

  /** The text exposition (Prometheus format 0.0.4), with the included processes' series summed in. */
  async text(): Promise<string> {
    if (this.#included.length === 0) return this.#refreshed().metrics()
    const others = (await Promise.all(this.#included.map((source) => source()))).flat()
    return AggregatorRegistry.aggregate([await this.json(), ...others]).metrics()
  }

  /** This process's own series as JSON. */
  json(): Promise<MetricsJson> {
    return this.#refreshed().getMetricsAsJSON() as Promise<MetricsJson>
  }

  #refreshed(): Registry {
    for (const refresh of this.#onScrape) refresh()
    return this.registry
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /**
   * Exports the series of a group's actors at 0 before anything happened, so that `rate()` and the
   * alerts see a first increase (a labelled series appears only once it is set).
   */
  initGroup(group: string, reads: string[]): void {
    for (const result of ['committed', 'aborted']) this.transactions.inc({ group, result }, 0)
    this.records.inc({ group }, 0)
    this.restoredRecords.inc({ group }, 0)
    this.restoreWaits.inc({ group }, 0)
    for (const origin_topic of reads) this.deadLetters.inc({ group, origin_topic }, 0)
  }

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] })
  }

  #gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], aggregator: 'sum' | 'min' | 'max' = 'sum') {
    return new Gauge<L>({ name, help, labelNames, aggregator, registers: [this.registry] })
  }

  #histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
    return new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] })
  }
}

/** Seconds since an ISO 8601 time (an event's own time), never negative (clocks of two hosts differ). */
export const secondsSince = (iso: string, now = Date.now()): number => Math.max(0, (now - Date.parse(iso)) / 1000)
