import { Type, type Static } from '@sinclair/typebox'
import { round } from './stats.ts'

/**
 * Where one consumer group's time went during a measurement, from the debug lines shop logs at
 * --log-level=debug (medians). Per partition actor batch (`actor:batch:committed`): `waited` is the
 * age of the batch's oldest record when its handling began (the hop before, its commit, the fetch
 * and the queue), `handle` its handling, `committed` from handled to committed (waiting for the
 * member's transaction, then that transaction). Per transaction of the group's members
 * (`actor:transaction:committed`): how many batches it held; its sends and its offsets, which run
 * side by side, each timed from the transaction's start; and its commit.
 */
export const HopTiming = Type.Object(
  {
    group: Type.String(),
    batches: Type.Integer({ minimum: 1 }),
    recordsPerBatch: Type.Number(),
    waitedMs: Type.Number(),
    handleMs: Type.Number(),
    committedMs: Type.Number(),
    transactions: Type.Integer({ minimum: 0 }),
    batchesPerTransaction: Type.Number(),
    sendMs: Type.Number(),
    offsetsMs: Type.Number(),
    commitMs: Type.Number(),
  },
  { additionalProperties: false },
)
export type HopTiming = Static<typeof HopTiming>

interface Batch {
  event: 'actor:batch:committed'
  group: string
  records: number
  waitedMs: number
  handleMs: number
  committedMs: number
}

interface Transaction {
  event: 'actor:transaction:committed'
  group: string
  batches: number
  sendMs: number
  offsetsMs: number
  commitMs: number
}

/** Per group (named without its topic prefix and `shop-`), the medians of the debug lines among `lines`. */
export function hopTimings(lines: string[]): HopTiming[] {
  const batches = new Map<string, Batch[]>()
  const transactions = new Map<string, Transaction[]>()
  const add = <T>(byGroup: Map<string, T[]>, group: string, entry: T) => {
    const name = group.replace(/^.*?shop-/, '')
    const entries = byGroup.get(name)
    if (entries) entries.push(entry)
    else byGroup.set(name, [entry])
  }
  for (const line of lines) {
    if (line.includes('"actor:batch:committed"')) {
      const entry = JSON.parse(line) as Batch
      add(batches, entry.group, entry)
    } else if (line.includes('"actor:transaction:committed"')) {
      const entry = JSON.parse(line) as Transaction
      add(transactions, entry.group, entry)
    }
  }
  const median = (values: number[]) => (values.length === 0 ? 0 : round(values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)], 1))
  return [...batches]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, entries]) => {
      const txs = transactions.get(group) ?? []
      return {
        group,
        batches: entries.length,
        recordsPerBatch: round(entries.reduce((n, e) => n + e.records, 0) / entries.length, 1),
        waitedMs: median(entries.map((e) => e.waitedMs)),
        handleMs: median(entries.map((e) => e.handleMs)),
        committedMs: median(entries.map((e) => e.committedMs)),
        transactions: txs.length,
        batchesPerTransaction: txs.length === 0 ? 0 : round(txs.reduce((n, t) => n + t.batches, 0) / txs.length, 1),
        sendMs: median(txs.map((t) => t.sendMs)),
        offsetsMs: median(txs.map((t) => t.offsetsMs)),
        commitMs: median(txs.map((t) => t.commitMs)),
      }
    })
}
