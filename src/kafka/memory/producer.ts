import { FencedError, LogError } from '../../errors.ts'
import type { LogProducer, Transaction, TransactionalProducer } from '../port.ts'
import { type ConsumedRecord, type ProduceRecord, type RecordPosition, tpKey } from '../types.ts'
import type { MemoryCluster, MemoryGroup } from './cluster.ts'
import type { MemoryConsumer } from './consumer.ts'

export class MemoryProducer implements LogProducer {
  constructor(private readonly cluster: MemoryCluster) {}
  async send(records: ProduceRecord[]): Promise<RecordPosition[]> {
    return this.cluster.append(this.cluster.place(records))
  }
  async close(): Promise<void> {}
}

/** A transaction's records and offsets stay aside until commit, then appear at once (read_committed). */
export class MemoryTransactionalProducer implements TransactionalProducer {
  #epoch = 0
  constructor(
    private readonly cluster: MemoryCluster,
    readonly transactionalId: string,
  ) {}

  async init(): Promise<void> {
    if (this.#epoch > 0 && this.cluster.epochs.get(this.transactionalId) === this.#epoch) return
    this.#epoch = (this.cluster.epochs.get(this.transactionalId) ?? 0) + 1
    this.cluster.epochs.set(this.transactionalId, this.#epoch)
    // Fencing settles the older instance's open transaction (it can never commit now).
    this.cluster.openTransactions.get(this.transactionalId)?.()
  }

  async begin(): Promise<Transaction> {
    await this.init()
    const cluster = this.cluster
    const epoch = this.#epoch
    const id = this.transactionalId
    const pending: Array<{ record: ProduceRecord; partition: number }> = []
    const offsets: Array<{ group: MemoryGroup; member: string; record: ConsumedRecord }> = []
    let done = false
    let released = false
    const open = () => {
      if (done) throw new LogError('transaction already completed')
    }
    /** Releases the partitions whose offsets this transaction held (readers of committed offsets wait for it). */
    const release = () => {
      if (released) return
      released = true
      if (cluster.openTransactions.get(id) === release) cluster.openTransactions.delete(id)
      for (const { record, partition } of pending) {
        const key = tpKey(record.topic, partition)
        const left = cluster.unsettled.get(key)! - 1
        if (left > 0) cluster.unsettled.set(key, left)
        else cluster.unsettled.delete(key)
      }
      for (const { group, record } of offsets) {
        const key = tpKey(record.topic, record.partition)
        const holders = (group.pending.get(key) ?? 1) - 1
        if (holders > 0) group.pending.set(key, holders)
        else group.pending.delete(key)
        group.settled.fire()
      }
    }
    cluster.openTransactions.set(id, release)
    return {
      async send(records) {
        open()
        const placed = cluster.place(records)
        pending.push(...placed)
        for (const { record, partition } of placed) {
          const key = tpKey(record.topic, partition)
          cluster.unsettled.set(key, (cluster.unsettled.get(key) ?? 0) + 1)
        }
      },
      async sendOffsets(consumer, records) {
        open()
        const group = cluster.group(consumer.groupId)
        const member = (consumer as MemoryConsumer).memberId
        // Refused here already, as a broker refuses a TxnOffsetCommit of an older generation (and
        // again at commit, should the group move on meanwhile).
        for (const record of records) refuseStale(group, member, record)
        for (const record of records) {
          offsets.push({ group, member, record })
          const key = tpKey(record.topic, record.partition)
          group.pending.set(key, (group.pending.get(key) ?? 0) + 1)
        }
      },
      async commit() {
        open()
        done = true
        try {
          if (cluster.epochs.get(id) !== epoch) throw new FencedError(`transactional id ${id} was taken over by a newer producer`)
          for (const { group, member, record } of offsets) refuseStale(group, member, record)
          const positions = cluster.append(pending)
          for (const { group, record } of offsets) {
            const key = tpKey(record.topic, record.partition)
            const next = record.offset + 1n
            if ((group.committed.get(key) ?? -1n) < next) group.committed.set(key, next)
          }
          return positions
        } finally {
          release()
        }
      },
      async abort() {
        done = true
        release()
      },
    }
  }

  async close(): Promise<void> {}
}

/** FencedError when `record` was delivered to `member` under an older generation of `group` than its current one. */
function refuseStale(group: MemoryGroup, member: string, record: ConsumedRecord): void {
  if (record.generation !== group.generation || !group.members.has(member)) {
    throw new FencedError(`group ${group.id} moved to generation ${group.generation}; offsets of generation ${record.generation} refused`)
  }
}
