import {
  type Attributes,
  type Context,
  INVALID_SPAN_CONTEXT,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node'
import pkg from '../../package.json' with { type: 'json' }
import { ConfigError } from '../errors.ts'
import type { ConsumedRecord, ProduceRecord } from '../kafka/types.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from './metrics.ts'

/**
 * OpenTelemetry traces: one trace per order across every hop. The instrumentation (below) goes
 * through the global OpenTelemetry API; `startTracing` registers the SDK when OTEL_* variables ask
 * for it. Context crosses Kafka as a W3C `traceparent` record header, and HTTP as the same request
 * header. With tracing off no `traceparent` is read or written, and the instrumentation returns at
 * once: the API's no-op spans still cost a context, attributes and a header parse per record.
 */

/** What the standard OTEL_* variables ask for; undefined from `tracingSettings` means tracing is off. */
export interface TracingSettings {
  /** Where spans are POSTed (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
  url: string
  protocol: 'http/protobuf' | 'http/json'
  serviceName: string
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  resource: Record<string, string>
  sampler: { name: SamplerName; ratio: number }
}

const samplerNames = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
type SamplerName = (typeof samplerNames)[number]

/** The variables `tracingSettings` reads, for `--help`. */
export const tracingVariables: Array<[string, string]> = [
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector base URL; spans go to {url}/v1/traces (tracing is off while neither endpoint is set)'],
  ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'full URL for spans, instead of the above'],
  ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf (default) or http/json (also OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)'],
  ['OTEL_EXPORTER_OTLP_HEADERS', 'headers of every export, key=value,...'],
  ['OTEL_SERVICE_NAME', 'the service.name resource attribute (default shop)'],
  ['OTEL_RESOURCE_ATTRIBUTES', 'more resource attributes, key=value,...'],
  ['OTEL_TRACES_SAMPLER', `${samplerNames.join('|')} (default parentbased_always_on)`],
  ['OTEL_TRACES_SAMPLER_ARG', 'the ratio of the *traceidratio samplers, 0 to 1 (default 1)'],
  ['OTEL_BSP_SCHEDULE_DELAY', 'ms between exports of finished spans (default 5000); OTEL_BSP_MAX_QUEUE_SIZE (2048) bounds what waits'],
  ['OTEL_SDK_DISABLED', 'true turns tracing off whatever else is set (so does OTEL_TRACES_EXPORTER=none)'],
]

/** Reads the standard variables; ConfigError naming the variable at fault. */
export function tracingSettings(env: Record<string, string | undefined>): TracingSettings | undefined {
  const get = (name: string) => env[name]?.trim() || undefined
  if (get('OTEL_SDK_DISABLED')?.toLowerCase() === 'true' || get('OTEL_TRACES_EXPORTER') === 'none') return undefined
  const exporter = get('OTEL_TRACES_EXPORTER')
  if (exporter !== undefined && exporter !== 'otlp') throw new ConfigError(`only otlp (or none) is supported; got "${exporter}"`, 'OTEL_TRACES_EXPORTER')
  const specific = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const base = get('OTEL_EXPORTER_OTLP_ENDPOINT')
  if (!specific && !base) return undefined
  const url = specific ?? `${base!.replace(/\/+$/, '')}/v1/traces`
  const variable = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new ConfigError(`expected an http(s) URL; got "${specific ?? base}"`, variable)
  const protocolVariable = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const protocol = get(protocolVariable) ?? 'http/protobuf'
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') throw new ConfigError(`must be http/protobuf or http/json (grpc is not supported); got "${protocol}"`, protocolVariable)
  const sampler = (get('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on') as SamplerName
  if (!samplerNames.includes(sampler)) throw new ConfigError(`must be one of ${samplerNames.join(', ')}; got "${sampler}"`, 'OTEL_TRACES_SAMPLER')
  const arg = get('OTEL_TRACES_SAMPLER_ARG')
  const ratio = arg === undefined ? 1 : Number(arg)
  if (!(ratio >= 0 && ratio <= 1)) throw new ConfigError(`expected a ratio from 0 to 1; got "${arg}"`, 'OTEL_TRACES_SAMPLER_ARG')
  const resource: Record<string, string> = {}
  for (const pair of (get('OTEL_RESOURCE_ATTRIBUTES') ?? '').split(',').filter(Boolean)) {
    const at = pair.indexOf('=')
    if (at < 1) throw new ConfigError(`expected key=value,...; got "${pair}"`, 'OTEL_RESOURCE_ATTRIBUTES')
    resource[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return { url, protocol, serviceName: get('OTEL_SERVICE_NAME') ?? resource['service.name'] ?? 'shop', resource, sampler: { name: sampler, ratio } }
}

function samplerOf({ name, ratio }: TracingSettings['sampler']): Sampler {
  const root = name.endsWith('always_off') ? new AlwaysOffSampler() : name.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler()
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root
}

/** Export failures are logged at most this often (each one is counted). */
const failureLogEveryMs = 60_000

/**
 * Counts what the exporter sends and fails to send, and logs failures at most once a minute: a
 * collector that is down never fills the log, nor slows the pipeline (spans are exported in the
 * background and dropped once OTEL_BSP_MAX_QUEUE_SIZE are waiting).
 */
class ObservedExporter implements SpanExporter {
  #lastLogged = -Infinity
  #failedSinceLog = 0

  constructor(
    private readonly inner: SpanExporter,
    private readonly url: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.metrics.traceSpans.inc({ result: 'exported' }, spans.length)
      else this.#failed(spans.length, result.error)
      done(result)
    })
  }

  #failed(spans: number, error: Error | undefined): void {
    this.metrics.traceSpans.inc({ result: 'failed' }, spans)
    this.#failedSinceLog += spans
    if (performance.now() - this.#lastLogged < failureLogEveryMs) return
    this.logger.warn({ event: 'tracing:export:failed', url: this.url, spans: this.#failedSinceLog, err: error }, 'spans could not be exported (logged at most once a minute; shop_trace_spans_total{result="failed"} counts them all)')
    this.#lastLogged = performance.now()
    this.#failedSinceLog = 0
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve()
  }
}

export interface Tracing {
  /** Exports what is still buffered, within `deadlineMs`, and stops. Never rejects. */
  shutdown(deadlineMs: number): Promise<void>
}

/**
 * Registers the OpenTelemetry SDK for this process (one per process: the global provider, the
 * AsyncLocalStorage context manager, the W3C propagator). A second call in the same process
 * keeps the first registration.
 */
export function startTracing(settings: TracingSettings, deps: { metrics: Metrics; logger: Logger; roles: string[] }): Tracing {
  const options = { url: settings.url }
  const exporter = settings.protocol === 'http/json' ? new JsonExporter(options) : new ProtobufExporter(options)
  for (const result of ['exported', 'failed']) deps.metrics.traceSpans.inc({ result }, 0)
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ ...settings.resource, 'service.name': settings.serviceName, 'service.version': pkg.version, 'shop.roles': deps.roles.join(',') }),
    sampler: samplerOf(settings.sampler),
    spanProcessors: [new BatchSpanProcessor(new ObservedExporter(exporter, settings.url, deps.metrics, deps.logger))],
  })
  provider.register()
  tracingOn = true
  deps.logger.info({ event: 'tracing:start', url: settings.url, protocol: settings.protocol, sampler: settings.sampler }, 'exporting traces')
  return {
    async shutdown(deadlineMs) {
      let timer: Timer | undefined
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))
      await Promise.race([provider.shutdown().catch((error) => deps.logger.warn({ event: 'tracing:shutdown:failed', err: error })), late])
      clearTimeout(timer)
    },
  }
}

// ---- Instrumentation ---------------------------------------------------------------------------

const tracer = () => trace.getTracer('shop', pkg.version)

/** Whether `startTracing` registered the SDK in this process; until then every span is `noSpan`. */
let tracingOn = false

/** The span of everything while tracing is off: records nothing, carries no context. */
const noSpan: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)

/** The trace and span ids of the active span, for log lines. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!tracingOn) return undefined
  const span = trace.getSpan(context.active())
  if (!span) return undefined
  const { traceId, spanId } = span.spanContext()
  return isSpanContextValid(span.spanContext()) ? { trace_id: traceId, span_id: spanId } : undefined
}

/** Runs `fn` with `span` active (its log lines carry its ids; spans it starts are its children). */
export const within = <T>(span: Span, fn: () => T): T => (tracingOn ? context.with(trace.setSpan(context.active(), span), fn) : fn())

/** Ends `span`, marked as failed with `error` when there is one. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error))
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
    span.setAttribute('error.type', error instanceof Error ? error.name : 'Error')
  }
  span.end()
}

/** Runs `fn` in a new span that ends when it settles (failed when it rejects). */
export const inSpan = <T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> =>
  tracingOn ? spanning(tracer().startSpan(name, { kind, attributes }), fn) : fn(noSpan)

/** Runs `fn` with `span` active and ends `span` when it settles (failed when it rejects). */
export async function spanning<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingOn) return fn(span)
  try {
    const result = await within(span, () => fn(span))
    endSpan(span)
    return result
  } catch (error) {
    endSpan(span, error)
    throw error
  }
}

/** Sets attributes on the active span (an order id on the request that placed it). */
export const annotate = (attributes: Attributes): void => void trace.getActiveSpan()?.setAttributes(attributes)

/** Writes the active (or given) context into `carrier` as `traceparent`: Kafka headers, HTTP headers. */
export function injectContext(carrier: Record<string, string>, from: Context = context.active()): void {
  propagation.inject(from, carrier)
}

/** The context a record or request was sent in (its `traceparent`), or the root context. */
export const extractContext = (carrier: Record<string, string>): Context => propagation.extract(ROOT_CONTEXT, carrier)

const messaging = (operation: 'send' | 'process', topic: string | undefined): Attributes => ({
  'messaging.system': 'kafka',
  'messaging.operation.name': operation,
  'messaging.operation.type': operation,
  ...(topic === undefined ? {} : { 'messaging.destination.name': topic }),
})

/**
 * A `send {topic}` PRODUCER span per record, children of the active context; each span's
 * context is written into its record's headers, so whoever reads the record continues the trace.
 * The caller ends them once the records are committed (`sent`).
 */
export function sendSpans(records: ProduceRecord[]): Span[] {
  if (!tracingOn) return records.map(() => noSpan)
  return records.map((record) => {
    const span = tracer().startSpan(`send ${record.topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...messaging('send', record.topic),
        ...(record.key === undefined ? {} : { 'messaging.kafka.message.key': record.key }),
        ...(record.headers?.ce_id ? { 'messaging.message.id': record.headers.ce_id } : {}),
      },
    })
    // Tracing off (and no context to pass on): the record is left as it is.
    if (isSpanContextValid(span.spanContext())) {
      record.headers = { ...record.headers }
      injectContext(record.headers, trace.setSpan(context.active(), span))
    }
    return span
  })
}

/** Ends send spans: with each record's partition and offset once committed, or failed. */
export function sent(spans: Span[], positions: Array<{ partition: number; offset: bigint }> | undefined, error?: unknown): void {
  if (!tracingOn) return
  spans.forEach((span, i) => {
    const at = positions?.[i]
    if (at) span.setAttributes({ 'messaging.destination.partition.id': String(at.partition), 'messaging.kafka.offset': Number(at.offset) })
    endSpan(span, error)
  })
}

/** Ends the send spans of records a later value of their key replaced before they were sent (see StepHandler.tables). */
export function superseded(spans: Span[]): void {
  for (const span of spans) {
    span.setAttribute('shop.output.superseded', true)
    span.end()
  }
}

/**
 * The `process` CONSUMER span of a batch handled as one transaction: it links to every record's
 * creation context (at most OTEL_SPAN_LINK_COUNT_LIMIT, 128 by default) and is a root span.
 */
export function batchSpan(records: ConsumedRecord[], group: string): Span {
  if (!tracingOn) return noSpan
  const topics = [...new Set(records.map((r) => r.topic))]
  const topic = topics.length === 1 ? topics[0] : undefined
  const span = tracer().startSpan(topic ? `process ${topic}` : 'process', {
    kind: SpanKind.CONSUMER,
    root: true,
    attributes: {
      ...messaging('process', topic),
      'messaging.consumer.group.name': group,
      'messaging.batch.message_count': records.length,
      ...(topic === undefined ? {} : { 'messaging.destination.partition.id': String(records[0].partition) }),
    },
  })
  // Links are added once the span is known to be sampled: an unsampled batch costs no header parsing.
  if (!span.isRecording()) return span
  const links: Link[] = []
  for (const record of records) {
    const creation = trace.getSpanContext(extractContext(record.headers))
    if (creation && isSpanContextValid(creation)) links.push({ context: creation })
  }
  return span.addLinks(links)
}

/**
 * The `process {topic}` CONSUMER span of one record's handling: a child of the record's creation
 * context, so one order's trace reads as a chain across every hop, linked to its batch's span.
 */
export function recordSpan(record: ConsumedRecord, group: string, batch: Span): Span {
  if (!tracingOn) return noSpan
  return tracer().startSpan(
    `process ${record.topic}`,
    {
      kind: SpanKind.CONSUMER,
      links: isSpanContextValid(batch.spanContext()) ? [{ context: batch.spanContext() }] : [],
      attributes: {
        ...messaging('process', record.topic),
        'messaging.consumer.group.name': group,
        'messaging.destination.partition.id': String(record.partition),
        'messaging.kafka.offset': Number(record.offset),
        ...(record.key === undefined ? {} : { 'messaging.kafka.message.key': record.key }),
        ...(record.headers.ce_id ? { 'messaging.message.id': record.headers.ce_id } : {}),
        ...(record.headers.ce_type ? { 'shop.event.type': record.headers.ce_type } : {}),
      },
    },
    extractContext(record.headers),
  )
}

/** The SERVER span of an HTTP request, a child of the caller's `traceparent`; named and ended by the app once routed and answered. */
export function serverSpan(request: Request): Span {
  if (!tracingOn) return noSpan
  const url = new URL(request.url)
  return tracer().startSpan(
    request.method,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'url.path': url.pathname, 'url.scheme': url.protocol.slice(0, -1), 'server.address': url.hostname, 'server.port': Number(url.port) || 80 },
    },
    extractContext(Object.fromEntries(request.headers)),
  )
}

export { SpanKind, SpanStatusCode, type Span }
