/**
 * Shared set-up of the reproductions: a broker (KAFKA_BROKERS, default 127.0.0.1:9092, e.g. from
 * `npm run kafka -- up`), a fresh topic, and how each script reports. Each script uses
 * @platformatic/kafka directly, without shop's adapter or its workarounds, and exits 1 when the
 * client misbehaves, 0 when it behaves.
 */
import { Admin } from '@platformatic/kafka'
import { randomUUID } from 'node:crypto'

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
export const unique = (what: string) => `upstream-${what}-${randomUUID().slice(0, 8)}`

export async function createTopic(partitions = 1): Promise<string> {
  const admin = new Admin({ clientId: unique('admin'), bootstrapBrokers: brokers })
  const topic = unique('topic')
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  await admin.close()
  return topic
}

/** Prints what was expected and seen, and exits 1 when they differ (the bug reproduced). */
export function verdict(what: string, expected: unknown, seen: unknown): never {
  const ok = JSON.stringify(expected) === JSON.stringify(seen)
  console.log(`${what}\n  expected: ${JSON.stringify(expected)}\n  seen:     ${JSON.stringify(seen)}\n  ${ok ? 'behaves' : 'BUG REPRODUCED'}`)
  process.exit(ok ? 0 : 1)
}
