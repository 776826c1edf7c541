import { events } from '../../schemas/events.ts'
import { decodeEvent } from '../events/envelope.ts'
import { InvalidEventError } from '../errors.ts'
import type { Log } from '../kafka/port.ts'
import { readToEnd } from '../kafka/read-to-end.ts'
import type { ConsumedRecord } from '../kafka/types.ts'
import type { ProjectedStep, ReadModel } from './types.ts'

/**
 * The steps of `order.status` records. A record that cannot be decoded still moves the offset
 * (`change` undefined) and is handed to `onUndecodable`; any other error is thrown.
 */
export function projectedSteps(records: ConsumedRecord[], onUndecodable: (record: ConsumedRecord, error: InvalidEventError) => void): ProjectedStep[] {
  return records.map((record) => {
    try {
      return { offset: record.offset, change: decodeEvent(events.orderStatus, record) }
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error
      onUndecodable(record, error)
      return { offset: record.offset, change: undefined }
    }
  })
}

export interface RebuildReport {
  partitions: number
  /** Records read from the topic (every one up to the end offsets taken at the start). */
  records: number
  /** Records that could not be decoded (the live projector dead-lettered them already). */
  undecodable: number
  /** Orders in the rebuilt model. */
  orders: number
}

/**
 * Drops the projection and folds `topic` into it again from the first offset to the end. Safe
 * next to a live projector: both write through `apply`, which skips what the other already
 * folded, under the database's per-partition turn-taking.
 */
export async function rebuildReadModel(log: Log, model: ReadModel, topic: string): Promise<RebuildReport> {
  await model.reset()
  const ends = await log.admin.endOffsets(topic)
  const report: RebuildReport = { partitions: ends.length, records: 0, undecodable: 0, orders: 0 }
  const orders = new Set<string>()
  for (let partition = 0; partition < ends.length; partition++) {
    await readToEnd(log, { topic, partition }, 0n, async (records) => {
      const steps = projectedSteps(records, () => report.undecodable++)
      report.records += records.length
      for (const step of steps) if (step.change) orders.add(step.change.orderId)
      await model.apply({ topic, partition }, steps)
    })
  }
  report.orders = orders.size
  return report
}
