import { join } from 'node:path'
import { repo } from '../../test/harness/shop-process.ts'
import { run, scratchDir } from './environment.ts'

/**
 * Counts the requests a broker on this machine answers, by type, over JMX (bench/tools/
 * BrokerRequests.java, compiled once per run with the JDK's javac; the JDK also runs the broker).
 * Measured at low load, the broker's work is per request and per transaction, not per record
 * (docs/performance.md: "The broker's side at low load"), so the report gives each type per order.
 */
export class BrokerRequests {
  private constructor(
    private readonly classes: string,
    private readonly pid: number,
  ) {}

  /** A reader of the broker at `pid`, or why there is none (no JDK, or the broker refuses to be attached to). */
  static open(pid: number): BrokerRequests | string {
    try {
      const classes = scratchDir('broker-requests')
      run(['javac', '-d', classes, join(repo, 'bench/tools/BrokerRequests.java')])
      const reader = new BrokerRequests(classes, pid)
      reader.read()
      return reader
    } catch (error) {
      return error instanceof Error ? error.message.split('\n')[0]! : String(error)
    }
  }

  /** The counts and time sums since the broker started, by request type. */
  read(): Record<string, RequestTally> {
    const tallies: Record<string, RequestTally> = {}
    for (const line of run(['java', '-cp', this.classes, 'BrokerRequests', String(this.pid)]).split('\n')) {
      const [type, count, totalMs, queueMs, localMs, remoteMs] = line.trim().split(' ')
      if (type && count) tallies[type] = { count: Number(count), totalMs: Number(totalMs), queueMs: Number(queueMs), localMs: Number(localMs), remoteMs: Number(remoteMs) }
    }
    return tallies
  }
}

/**
 * A broker's requests of one type since it started: how many, and the sums of their times in ms
 * (Kafka's request time histograms): total, from the network thread's read to the response's
 * send; queue, waiting for a request handler; local, handled by it; remote, waiting in
 * purgatory (a fetch's long poll, a produce waiting for its acks). The broker records each time
 * rounded to a whole ms: a mean over many requests is within 0.5 ms of the true one.
 */
export interface RequestTally {
  count: number
  totalMs: number
  queueMs: number
  localMs: number
  remoteMs: number
}

/** What the broker answered between two reads, by type, most first (types it answered none of left out). */
export function requestsBetween(before: Record<string, RequestTally>, after: Record<string, RequestTally>): Record<string, number> {
  const delta = Object.entries(after).map(([type, { count }]) => [type, count - (before[type]?.count ?? 0)] as const)
  return Object.fromEntries(delta.filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]))
}

/** The broker's mean time per request between two reads, by type (in ms, one decimal), for the types it answered. */
export function requestTimesBetween(before: Record<string, RequestTally>, after: Record<string, RequestTally>): Record<string, RequestTimes> {
  const times: Record<string, RequestTimes> = {}
  for (const [type, count] of Object.entries(requestsBetween(before, after))) {
    const mean = (key: keyof Omit<RequestTally, 'count'>) => Math.round(((after[type]![key] - (before[type]?.[key] ?? 0)) / count) * 10) / 10
    times[type] = { totalMs: mean('totalMs'), queueMs: mean('queueMs'), localMs: mean('localMs'), remoteMs: mean('remoteMs') }
  }
  return times
}

/** Mean ms per request of one type over a measurement (see RequestTally). */
export type RequestTimes = Omit<RequestTally, 'count'>
