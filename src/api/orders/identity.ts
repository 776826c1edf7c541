import { createHash } from 'node:crypto'

/** The namespace of order ids (RFC 4122 section 4.3): a fixed UUID, shop's own. */
export const orderNamespace = '5b0d4a6e-7f3c-4c1e-9a51-2f6d8e3b9c10'

/**
 * An order's identity: the RFC 4122 version 5 UUID of (userId, Idempotency-Key) in
 * `orderNamespace`. Keys are scoped per user, so two customers who pick the same key get two
 * orders; the same user retrying with the same key gets the same orderId, which the OrderActor of
 * the user's partition (the order's single writer) accepts once.
 */
export function orderIdFor(userId: string, idempotencyKey: string): string {
  return uuidV5(orderNamespace, JSON.stringify([userId, idempotencyKey]))
}

/** RFC 4122 version 5: SHA-1 of the namespace's 16 bytes and the name's UTF-8, version and variant bits set. */
export function uuidV5(namespace: string, name: string): string {
  const bytes = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16)
  bytes[6] = (bytes[6] & 0x0f) | 0x50
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
