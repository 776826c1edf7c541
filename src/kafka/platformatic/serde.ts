/**
 * Values stay bytes. Keys and headers are encoded and decoded by records.ts, not by the client's
 * serializers: the client never sees them as strings (consumer.ts, placement.ts).
 */
export type Bytes = Buffer
