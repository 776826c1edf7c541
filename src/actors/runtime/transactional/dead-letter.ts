import { ShopError } from '../../../errors.ts'
import type { ConsumedRecord, ProduceRecord } from '../../../kafka/types.ts'
import { nowIso } from '../../../time.ts'

/**
 * The dead-letter record for a record that could not be processed: the original key, value and
 * headers, plus where it came from and why it failed, in `shop.dlq.*` headers.
 */
export function deadLetterRecord(
  topic: string,
  group: string,
  record: ConsumedRecord,
  error: unknown,
  attempts: number,
): ProduceRecord {
  const message = error instanceof Error ? error.message : String(error)
  return {
    topic,
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      'shop.dlq.topic': record.topic,
      'shop.dlq.partition': String(record.partition),
      'shop.dlq.offset': String(record.offset),
      'shop.dlq.group': group,
      'shop.dlq.error': message.slice(0, 2000),
      'shop.dlq.error.code': error instanceof ShopError ? error.code : ((error as Error)?.name ?? 'Error'),
      'shop.dlq.attempts': String(attempts),
      'shop.dlq.time': nowIso(),
    },
  }
}
