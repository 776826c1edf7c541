import { readFileSync, readdirSync } from 'node:fs'
import type { Log } from '../../src/kafka/port.ts'
import { groupsLag, partitionLag } from '../../src/observability/lag.ts'
import { round } from './stats.ts'

const TICKS_PER_SECOND = 100 // Linux USER_HZ

/** CPU and memory of one process over a measurement window. */
export interface ProcessUsage {
  name: string
  pid: number
  /** Average CPU over the window, % of one core. */
  cpuPercent: number
  /** CPU time over the window, in seconds; with `sinceStart`, from the process's own start to the window's end. */
  cpuSeconds: number
  /** Highest CPU of any one sampling interval, % of one core. */
  cpuPeakPercent: number
  rssPeakMb: number
  rssEndMb: number
  /**
   * Time its threads were ready to run but waited for a core, over the window, in % of one core
   * (the kernel's run-queue wait, /proc/<pid>/task/<tid>/schedstat, summed over the threads). On a
   * full machine a process is late by this much whatever its own work: its event loop, its replies.
   */
  waitPercent: number
}

/** Nanoseconds the threads of `pid` have waited on a run queue, summed; undefined if unreadable (the process gone, or not Linux). */
function runQueueWaitNs(pid: number): number | undefined {
  try {
    let total = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1])
      } catch {
        // A thread that ended meanwhile: its wait is gone with it.
      }
    }
    return total
  } catch {
    return undefined
  }
}

function cpuTicks(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return undefined
  }
}

/** A process's RSS in MB. */
export const rssMb = (pid: number): number | undefined => treeRssMb([pid])

/** A process's resident set in kB, split: pages of its own (anonymous and shared memory) and pages of the files it maps (its binary, its libraries). */
function residentKb(pid: number): { own: number; files: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string) => Number(status.match(`${field}:\\s+(\\d+)`)?.[1] ?? Number.NaN)
    const [anon, shmem, files] = [kb('RssAnon'), kb('RssShmem'), kb('RssFile')]
    return Number.isNaN(anon + shmem + files) ? undefined : { own: anon + shmem, files }
  } catch {
    return undefined
  }
}

/**
 * The resident memory of processes that run one binary (a supervisor and its workers), in MB: the
 * pages of each one's own, and the file pages of the one that maps most. Their RSS summed would
 * count the binary's pages (~44 MB of shop's) once per process, where the kernel holds them once.
 * For one process, its RSS (VmRSS: RssAnon + RssFile + RssShmem).
 */
export function treeRssMb(pids: number[]): number | undefined {
  const sets = pids.map(residentKb).filter((r) => r !== undefined)
  if (sets.length === 0) return undefined
  return (sets.reduce((n, r) => n + r.own, 0) + Math.max(...sets.map((r) => r.files))) / 1024
}

/** `pid` and every process below it (a supervisor's workers), from each process's parent in /proc. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)])
    } catch {
      // Gone between the listing and the read.
    }
  }
  const all = [pid]
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]) ?? []))
  return all
}

const sum = (values: Array<number | undefined>): number | undefined => (values[0] === undefined ? undefined : values.reduce<number>((a, v) => a + (v ?? 0), 0))

/** Busy and total jiffies of every CPU of the machine since boot (/proc/stat's first line). */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/)
    // user nice system idle iowait irq softirq steal (guest time is counted in user already).
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number)
    const busy = user + nice + system + irq + softirq + steal
    return { busy, total: busy + idle + iowait }
  } catch {
    return undefined
  }
}

/**
 * How busy the whole machine was between `new MachineSampler()` and `stop()`: % of all its cores
 * (100: every core busy), whatever ran there. Null where /proc/stat cannot be read.
 */
export class MachineSampler {
  readonly #first = machineTicks()

  stop(): number | null {
    const last = machineTicks()
    if (!this.#first || !last || last.total === this.#first.total) return null
    return round(((last.busy - this.#first.busy) / (last.total - this.#first.total)) * 100, 1)
  }
}

/**
 * A process under measurement; with `tree`, its CPU is its own and that of every process below it
 * (`--workers`), and its RSS theirs with the binary's pages counted once (treeRssMb). With
 * `sinceStart` (a process the measurement started), its `cpuSeconds` counts from its own start, as
 * the kernel does: its start-up (loading its code, a JVM's too) is part of its work.
 */
export interface Sampled {
  name: string
  pid: number
  tree?: boolean
  sinceStart?: boolean
}

/** Samples /proc for CPU and RSS of each process, once a second, between `start()` and `stop()`. */
export class ProcessSampler {
  #timer: ReturnType<typeof setInterval> | undefined
  #first = new Map<number, { ticks: number; at: number }>()
  #firstWaitNs = new Map<number, number>()
  #last = new Map<number, { ticks: number; at: number }>()
  #peakCpu = new Map<number, number>()
  #peakRss = new Map<number, number>()

  constructor(private readonly processes: Sampled[]) {}

  #cpuTicks(p: Sampled): number | undefined {
    return p.tree ? sum(tree(p.pid).map(cpuTicks)) : cpuTicks(p.pid)
  }

  #rssMb(p: Sampled): number | undefined {
    return treeRssMb(p.tree ? tree(p.pid) : [p.pid])
  }

  #waitNs(p: Sampled): number | undefined {
    return p.tree ? sum(tree(p.pid).map(runQueueWaitNs)) : runQueueWaitNs(p.pid)
  }

  start(): void {
    for (const p of this.processes) {
      const { pid } = p
      const ticks = this.#cpuTicks(p)
      if (ticks !== undefined) this.#first.set(pid, { ticks, at: performance.now() })
      const waitNs = this.#waitNs(p)
      if (waitNs !== undefined) this.#firstWaitNs.set(pid, waitNs)
    }
    this.#last = new Map(this.#first)
    this.#timer = setInterval(() => this.#sample(), 1000)
  }

  #sample(): void {
    const now = performance.now()
    for (const p of this.processes) {
      const { pid } = p
      const ticks = this.#cpuTicks(p)
      const rss = this.#rssMb(p)
      const last = this.#last.get(pid)
      if (ticks !== undefined && last) {
        const percent = ((ticks - last.ticks) / TICKS_PER_SECOND / ((now - last.at) / 1000)) * 100
        this.#peakCpu.set(pid, Math.max(this.#peakCpu.get(pid) ?? 0, percent))
        this.#last.set(pid, { ticks, at: now })
      }
      if (rss !== undefined) this.#peakRss.set(pid, Math.max(this.#peakRss.get(pid) ?? 0, rss))
    }
  }

  stop(): ProcessUsage[] {
    this.#sample()
    clearInterval(this.#timer)
    return this.processes.map((p) => {
      const { name, pid } = p
      const first = this.#first.get(pid)
      const last = this.#last.get(pid)
      const seconds = first && last ? (last.at - first.at) / 1000 : 0
      const cpu = first && last && seconds > 0 ? ((last.ticks - first.ticks) / TICKS_PER_SECOND / seconds) * 100 : 0
      const cpuSeconds = last ? (last.ticks - (p.sinceStart ? 0 : (first?.ticks ?? last.ticks))) / TICKS_PER_SECOND : 0
      const waitedNs = (this.#waitNs(p) ?? 0) - (this.#firstWaitNs.get(pid) ?? 0)
      return {
        name,
        pid,
        cpuPercent: round(cpu, 1),
        cpuSeconds: round(cpuSeconds, 2),
        cpuPeakPercent: round(this.#peakCpu.get(pid) ?? 0, 1),
        rssPeakMb: round(this.#peakRss.get(pid) ?? 0, 1),
        rssEndMb: round(this.#rssMb(p) ?? 0, 1),
        waitPercent: seconds > 0 && this.#firstWaitNs.has(pid) ? round(Math.max(0, waitedNs) / 1e9 / seconds * 100, 1) : 0,
      }
    })
  }
}

/** Lag of one consumer group, in offsets (transaction markers included, as Kafka's tools count it). */
export interface GroupLag {
  group: string
  max: number
  end: number
}

/**
 * Polls each group's lag (end offsets of its input topics minus its committed offsets) from outside
 * the group, as monitoring would, once a second between `start()` and `stop()`.
 */
export class LagSampler {
  #timer: ReturnType<typeof setInterval> | undefined
  #max = new Map<string, number>()
  #latest = new Map<string, number>()
  #busy: Promise<void> | undefined

  constructor(
    private readonly log: Log,
    private readonly groups: Array<{ group: string; topics: string[] }>,
  ) {}

  /**
   * Records (not offsets: transaction markers are not records) after the group's committed offsets,
   * as far as one read reaches: 0 when the group has caught up.
   */
  async unread(group: string, topics: string[]): Promise<number> {
    const behind = (await partitionLag(this.log, group, topics))
      .filter((p) => (p.committed ?? 0n) < p.end)
      .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.committed ?? 0n }))
    if (behind.length === 0) return 0
    return (await this.log.read(behind)).reduce((n, r) => n + r.records.length, 0)
  }

  /** Current lag per group: the ends of all their topics read in one round, as shop's own lag exporter does (groupsLag). */
  async sample(): Promise<Map<string, number>> {
    for (const { group, partitions } of await groupsLag(this.log, this.groups)) {
      const lag = Number(partitions.reduce((sum, p) => sum + p.end - (p.committed ?? 0n), 0n))
      this.#latest.set(group, lag)
      this.#max.set(group, Math.max(this.#max.get(group) ?? 0, lag))
    }
    return this.#latest
  }

  get latest(): ReadonlyMap<string, number> {
    return this.#latest
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#busy) return
      this.#busy = this.sample().then(() => {})
        .catch(() => {})
        .finally(() => (this.#busy = undefined))
    }, 1000)
  }

  async stop(): Promise<GroupLag[]> {
    clearInterval(this.#timer)
    await this.#busy
    await this.sample()
    return this.groups.map(({ group }) => ({ group, max: this.#max.get(group) ?? 0, end: this.#latest.get(group) ?? 0 }))
  }
}
