import { stringDeserializer, stringSerializer } from '@platformatic/kafka'

/** Keys and header entries cross the port as strings; values stay bytes. */
export type Bytes = Buffer
export const serializers = { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer }
export const deserializers = { key: stringDeserializer, headerKey: stringDeserializer, headerValue: stringDeserializer }
