import { randomUUID } from 'node:crypto'
import type { ConsumerListener, Log } from '../../src/kafka/port.ts'
import { readToEnd } from '../../src/kafka/read-to-end.ts'
import type { ConsumedRecord, TopicPartition } from '../../src/kafka/types.ts'

/** A name no other test uses: `test-<what>-<8 hex>`. */
export const unique = (what: string) => `test-${what}-${randomUUID().slice(0, 8)}`

/** The values of records as strings. */
export const values = (records: ConsumedRecord[]) => records.map((r) => String(r.value))

/**
 * A consumer listener that records what it is told: records, the current assignment and
 * generation, errors, and the most batches of one partition it was ever handling at once.
 */
export function recorder(onRecords?: (records: ConsumedRecord[]) => Promise<void> | void) {
  const state = {
    records: [] as ConsumedRecord[],
    assigned: [] as TopicPartition[],
    generation: -1,
    errors: [] as Error[],
    /** Most onRecords calls of one partition in progress at once (the port promises 1). */
    maxInFlight: 0,
  }
  const inFlight = new Map<string, number>()
  const listener: ConsumerListener = {
    onAssigned(partitions, generation) {
      state.assigned = partitions
      state.generation = generation
    },
    onRevoked() {
      state.assigned = []
    },
    async onRecords(records) {
      const key = `${records[0].topic}:${records[0].partition}`
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1)
      state.maxInFlight = Math.max(state.maxInFlight, inFlight.get(key)!)
      try {
        state.records.push(...records)
        await onRecords?.(records)
      } finally {
        inFlight.set(key, inFlight.get(key)! - 1)
      }
    },
    onError(error) {
      state.errors.push(error)
    },
  }
  return { state, listener }
}

/**
 * Every committed record of one partition up to its end offset now: what a negative check reads
 * to. `atLeast`: the offset after the last record the test wrote itself (see Transaction.commit).
 */
export async function readPartition(log: Log, topic: string, partition = 0, atLeast = 0n): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = []
  await readToEnd(log, { topic, partition }, 0n, (batch) => void records.push(...batch), atLeast)
  return records
}
