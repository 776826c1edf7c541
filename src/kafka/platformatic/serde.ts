import { stringDeserializer } from '@platformatic/kafka'

/** Keys and header entries cross the port as strings; values stay bytes. */
export type Bytes = Buffer

/**
 * Header names and most header values repeat from record to record (`ce_type`, `ce_source`,
 * `content-type`; a batch's `ce_time`), and a fresh Buffer per string per record was the costliest
 * native call of a draining order,inventory process (`bun bench stream --profile`: 14% of its
 * samples). Their bytes are made once and shared: the client only reads them. The cache is
 * dropped whole when it fills, so unique values (event ids) cannot grow it.
 */
export function cachedStringSerializer(limit = 4_096): (data?: string) => Buffer | undefined {
  let cache = new Map<string, Buffer>()
  return (data) => {
    if (typeof data !== 'string') return undefined
    let bytes = cache.get(data)
    if (bytes === undefined) {
      if (cache.size >= limit) cache = new Map()
      bytes = Buffer.from(data, 'utf8')
      cache.set(data, bytes)
    }
    return bytes
  }
}

const headerStrings = cachedStringSerializer()
/** Keys arrive as bytes already (see PlacedMessage): the client sends them as they are. */
const keyBytes = (key?: Bytes): Bytes | undefined => key
export const serializers = { key: keyBytes, headerKey: headerStrings, headerValue: headerStrings }
export const deserializers = { key: stringDeserializer, headerKey: stringDeserializer, headerValue: stringDeserializer }
