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

  /** The counts since the broker started, by request type. */
  read(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const line of run(['java', '-cp', this.classes, 'BrokerRequests', String(this.pid)]).split('\n')) {
      const [type, count] = line.trim().split(' ')
      if (type && count) counts[type] = Number(count)
    }
    return counts
  }
}

/** What the broker answered between two reads, by type, most first (types it answered none of left out). */
export function requestsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta = Object.entries(after).map(([type, count]) => [type, count - (before[type] ?? 0)] as const)
  return Object.fromEntries(delta.filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]))
}
