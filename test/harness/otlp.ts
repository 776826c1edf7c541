/**
 * An OTLP/HTTP trace receiver for tests: it takes what shop's exporter POSTs to /v1/traces, in
 * either protocol (http/protobuf, http/json), and keeps the spans in one shape.
 */
import { runtime } from '../../src/runtime/index.ts'

export const spanKinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const

export interface ReceivedSpan {
  service: string
  traceId: string
  spanId: string
  /** '' for a root span. */
  parentSpanId: string
  name: string
  kind: (typeof spanKinds)[number]
  attributes: Record<string, string | number | boolean>
  links: Array<{ traceId: string; spanId: string }>
  /** 0 unset, 1 ok, 2 error. */
  status: number
}

export interface OtlpReceiver {
  /** The base URL: set it as OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string
  spans: ReceivedSpan[]
  /** The content type of each export received. */
  contentTypes: string[]
  stop(): void
}

export function otlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = []
  const contentTypes: string[] = []
  const server = runtime.serve(
    async (request) => {
      if (new URL(request.url).pathname !== '/v1/traces' || request.method !== 'POST') return new Response('not found', { status: 404 })
      const type = request.headers.get('content-type') ?? ''
      contentTypes.push(type)
      const body = new Uint8Array(await request.arrayBuffer())
      spans.push(...(type.startsWith('application/json') ? fromJson(JSON.parse(new TextDecoder().decode(body))) : fromProtobuf(body)))
      return type.startsWith('application/json') ? Response.json({}) : new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
    },
    { port: 0, hostname: '127.0.0.1' },
  )
  return { url: `http://127.0.0.1:${server.port}`, spans, contentTypes, stop: () => void server.stop() }
}

// ---- http/json ----

type JsonValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
type JsonAttributes = Array<{ key: string; value: JsonValue }> | undefined

const jsonAttributes = (list: JsonAttributes) =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue ?? '']))

function fromJson(body: { resourceSpans?: Array<{ resource?: { attributes?: JsonAttributes }; scopeSpans?: Array<{ spans?: Array<Record<string, never>> }> }> }): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const service = String(jsonAttributes(rs.resource?.attributes)['service.name'] ?? '')
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s: Record<string, any>) => ({
        service,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: spanKinds[s.kind ?? 0],
        attributes: jsonAttributes(s.attributes),
        links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({ traceId: l.traceId, spanId: l.spanId })),
        status: s.status?.code ?? 0,
      })),
    )
  })
}

// ---- http/protobuf: the wire format, for the fields above ----

interface Field {
  number: number
  /** A varint or fixed number, or the bytes of a length-delimited field. */
  value: bigint | Uint8Array
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = []
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = 0
  const varint = () => {
    let result = 0n
    for (let shift = 0n; ; shift += 7n) {
      const byte = buf[pos++]
      result |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return result
    }
  }
  while (pos < buf.length) {
    const tag = Number(varint())
    const number = tag >>> 3
    switch (tag & 7) {
      case 0:
        out.push({ number, value: varint() })
        break
      case 1:
        out.push({ number, value: view.getBigUint64(pos, true) })
        pos += 8
        break
      case 2: {
        const length = Number(varint())
        out.push({ number, value: buf.subarray(pos, pos + length) })
        pos += length
        break
      }
      case 5:
        out.push({ number, value: BigInt(view.getUint32(pos, true)) })
        pos += 4
        break
      default:
        throw new Error(`protobuf wire type ${tag & 7} at ${pos}`)
    }
  }
  return out
}

const all = (buf: Uint8Array, number: number) => fields(buf).filter((f) => f.number === number).map((f) => f.value as Uint8Array)
const one = (buf: Uint8Array, number: number) => fields(buf).find((f) => f.number === number)?.value
const text = (value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : '')
const hex = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : '')

function anyValue(buf: Uint8Array): string | number | boolean {
  const [field] = fields(buf)
  if (!field) return ''
  if (field.number === 1) return text(field.value)
  if (field.number === 2) return field.value === 1n
  if (field.number === 3) return Number(BigInt.asIntN(64, field.value as bigint))
  if (field.number === 4) return new DataView(new BigUint64Array([field.value as bigint]).buffer).getFloat64(0, true)
  return ''
}

const attributes = (list: Uint8Array[]) => Object.fromEntries(list.map((kv) => [text(one(kv, 1)), anyValue((one(kv, 2) as Uint8Array) ?? new Uint8Array())]))

function fromProtobuf(body: Uint8Array): ReceivedSpan[] {
  return all(body, 1).flatMap((resourceSpans) => {
    const resource = one(resourceSpans, 1) as Uint8Array | undefined
    const service = String(resource ? (attributes(all(resource, 1))['service.name'] ?? '') : '')
    return all(resourceSpans, 2).flatMap((scopeSpans) =>
      all(scopeSpans, 2).map((span) => {
        const status = one(span, 15) as Uint8Array | undefined
        return {
          service,
          traceId: hex(one(span, 1)),
          spanId: hex(one(span, 2)),
          parentSpanId: hex(one(span, 4)),
          name: text(one(span, 5)),
          kind: spanKinds[Number(one(span, 6) ?? 0n)],
          attributes: attributes(all(span, 9)),
          links: all(span, 13).map((link) => ({ traceId: hex(one(link, 1)), spanId: hex(one(link, 2)) })),
          status: status ? Number(one(status, 3) ?? 0n) : 0,
        }
      }),
    )
  })
}
