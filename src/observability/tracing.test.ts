import { describe, expect, test } from 'bun:test'
import { loadConfig } from '../config/load.ts'
import { ConfigError } from '../errors.ts'
import type { ConsumedRecord } from '../kafka/types.ts'
import { activeTraceIds, batchSpan, recordSpan, sendSpans, serverSpan, spanning, tracingSettings, within } from './tracing.ts'

describe('tracingSettings (the standard OTEL_* variables)', () => {
  test('tracing is off without an endpoint, and when disabled whatever else is set', () => {
    expect(tracingSettings({})).toBeUndefined()
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toBeUndefined()
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined()
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined()
  })

  test('defaults: spans to {endpoint}/v1/traces over http/protobuf, service shop, parent-based always on', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'shop',
      resource: {},
      sampler: { name: 'parentbased_always_on', ratio: 1 },
    })
  })

  test('the traces-specific variables win, and every setting is read', () => {
    const settings = tracingSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'shop-api',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=checkout%20core',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.01',
    })
    expect(settings).toEqual({
      url: 'https://collector.example/otlp/traces',
      protocol: 'http/json',
      serviceName: 'shop-api',
      resource: { 'deployment.environment': 'prod', team: 'checkout core' },
      sampler: { name: 'parentbased_traceidratio', ratio: 0.01 },
    })
  })

  test.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'expected an http(s) URL'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc is not supported'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER', 'must be one of'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '5%' }, 'OTEL_TRACES_SAMPLER_ARG', 'expected a ratio'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_RESOURCE_ATTRIBUTES: 'novalue' }, 'OTEL_RESOURCE_ATTRIBUTES', 'expected key=value'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER', 'only otlp'],
  ])('%o is refused, naming %s', (env, variable, message) => {
    let error: unknown
    try {
      loadConfig([], env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toContain(variable)
    expect((error as ConfigError).message).toContain(message)
  })
})

describe('instrumentation with tracing off (no startTracing in this process)', () => {
  test('no traceparent is read or written, every span is the one no-op span, and the work still runs', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const consumed: ConsumedRecord = { topic: 't', partition: 0, offset: 5n, key: 'k', value: Buffer.from('{}'), headers: { traceparent, ce_id: 'x' }, timestamp: 0, generation: 1 }
    const batch = batchSpan([consumed], 'g')
    const span = recordSpan(consumed, 'g', batch)
    // The record's own context is not continued: a span of it would carry its trace id.
    expect(span.spanContext().traceId).toBe('00000000000000000000000000000000')
    expect(span.isRecording()).toBe(false)
    expect(batch).toBe(span)
    expect(serverSpan(new Request('http://x/orders', { headers: { traceparent } }))).toBe(span)

    const outputs = [{ topic: 'a', key: 'k', value: '1', headers: { ce_id: 'y' } }, { topic: 'b', value: '2' }]
    const headers = outputs[0].headers
    const sends = sendSpans(outputs)
    expect(sends).toEqual([span, span])
    expect(outputs[0].headers).toBe(headers)
    expect(outputs[0].headers).toEqual({ ce_id: 'y' })
    expect(outputs[1]).toEqual({ topic: 'b', value: '2' })

    expect(within(span, () => activeTraceIds())).toBeUndefined()
    expect(await spanning(span, async (s) => (s === span ? 'ran' : 'other'))).toBe('ran')
    await expect(spanning(span, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
  })
})
