import { ProduceAcks, Producer } from '@platformatic/kafka'
import { FencedError } from '../../errors.ts'
import { chunked } from '../coalescer.ts'
import type { Transaction, TransactionalProducer } from '../port.ts'
import type { RecordPosition } from '../types.ts'
import { call } from './call.ts'
import { commitTransactionOffsets } from './txn-offsets.ts'
import type { KafkaConsumer } from './consumer.ts'
import type { ClientBase } from './options.ts'
import { type Placement, messageBytes, positionsOf } from './placement.ts'
import type { Bytes } from './records.ts'

/** A transactional producer (see port.ts); `track` registers its close with the log. */
export function transactionalProducer(
  transactionalId: string,
  base: ClientBase,
  placement: Placement,
  maxRequestBytes: number,
  track: (close: () => Promise<void>) => () => Promise<void>,
): TransactionalProducer {
  const newClient = () => new Producer<Bytes, Bytes, string, string>({
    ...base,
    idempotent: true,
    transactionalId,
    acks: ProduceAcks.ALL,
    // InitProducerId must say "no producer id known" (-1/-1). Left unset, platformatic 2.12.1 sends
    // 0/0, and the broker answers PRODUCER_FENCED to every new instance of an existing id
    // (docs/upstream/init-producer-id.ts).
    producerId: -1n,
    producerEpoch: -1,
  })
  let producer = newClient()
  const ms = base.timeout
  /**
   * platformatic 2.12.1 marks a transaction active before InitProducerId answers and never clears
   * it when that fails (e.g. the coordinator still loading after a broker restart): every later
   * beginTransaction then fails with "There is already an active transaction". No transaction was
   * opened, so the client is replaced and the next begin() starts afresh.
   */
  const beginOrReplace = async (what: string) => {
    try {
      return await call(what, ms, producer.beginTransaction())
    } catch (error) {
      await replace()
      throw error
    }
  }
  /**
   * A new client for the same transactional id: its InitProducerId bumps the epoch, which makes
   * the coordinator abort whatever transaction the old client left open. Used whenever a
   * transaction ended neither committed nor aborted: reusing the client would add the next
   * transaction's records to that open one, and its commit would publish both.
   */
  const replace = async () => {
    const stuck = producer
    producer = newClient()
    initialized = false
    await stuck.close(true).catch(() => {})
  }
  let initialized = false
  return {
    transactionalId,
    async init() {
      if (initialized) return
      // beginTransaction finds the coordinator and runs InitProducerId (fencing older epochs,
      // settling their open transaction); cancel drops the local transaction without a request.
      const tx = await beginOrReplace('init transactional producer')
      await call('cancel local transaction', ms, tx.cancel())
      initialized = true
    },
    async begin(): Promise<Transaction> {
      const tx = await beginOrReplace('begin transaction')
      initialized = true
      const positions: RecordPosition[] = []
      /**
       * The groups added so far, one at a time: platformatic 2.12.1 deduplicates AddOffsetsToTxn
       * calls in flight by name alone, so a second group's, sent while the first's is in flight,
       * would ride on it and never be added (its TxnOffsetCommit then fails TRANSACTION_ABORTABLE).
       */
      let groupsAdded: Promise<unknown> = Promise.resolve()
      const cancel = async () => {
        await call('cancel local transaction', ms, tx.cancel()).catch(() => {})
        await replace()
      }
      return {
        async send(records) {
          // A batch of large records could exceed the broker's message.max.bytes in one request.
          for (const messages of chunked(await placement.place(records), messageBytes, maxRequestBytes)) {
            const result = await call('transactional produce', ms, tx.send({ messages }))
            positions.push(...positionsOf(messages, result.offsets ?? []))
          }
        },
        async sendOffsets(consumer, records) {
          const kafkaConsumer = (consumer as KafkaConsumer).client
          const added = groupsAdded.then(() => call('add consumer group to transaction', ms, tx.addConsumer(kafkaConsumer)))
          groupsAdded = added.catch(() => {})
          await added
          // The group's coordinator as the consumer knows it, found again if it lost it (a broker outage).
          const coordinator = () => kafkaConsumer.findGroupCoordinator()
          await call('add offsets to transaction', ms, commitTransactionOffsets(producer, transactionalId, records, coordinator))
        },
        async commit() {
          try {
            await call('commit transaction', ms, tx.commit())
            return positions
          } catch (error) {
            // The commit may have reached the coordinator: whether it happened is not known here,
            // so the client is replaced, never reused for an abort that could race the commit.
            await cancel()
            throw error
          }
        },
        async abort() {
          if (tx.completed) return
          // A send that timed out here may still be queued in the client, which retries it: reused,
          // the client would add it to the next transaction. So the client is replaced even after a
          // clean abort, and the next init() bumps the epoch, which makes the broker refuse it.
          try {
            await call('abort transaction', ms, tx.abort())
          } catch (error) {
            if (!(error instanceof FencedError)) throw error
          } finally {
            await cancel()
          }
        },
      }
    },
    close: track(() => call('close transactional producer', ms, producer.close(true))),
  }
}
