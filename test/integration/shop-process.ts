import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll } from 'bun:test'
import type { Subprocess } from 'bun'
import { KafkaLog } from '../../src/kafka/platformatic.ts'
import { testBrokers } from './broker.ts'

export const repo = resolve(import.meta.dir, '../..')

/** A `shop` process started as users start it, with its stdout (notifications) and stderr (logs) collected. */
export class ShopProcess {
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  url = ''

  private constructor(readonly proc: Subprocess<'ignore', 'pipe', 'pipe'>) {
    void collect(proc.stdout, this.stdout)
    void collect(proc.stderr, this.stderr)
  }

  /** Spawns `command args` (default: `bun src/main.ts`) and waits for its HTTP server. */
  static async spawn(args: string[], options: { command?: string[]; cwd?: string; env?: Record<string, string> } = {}) {
    const command = options.command ?? [process.execPath, join(repo, 'src/main.ts')]
    const proc = Bun.spawn([...command, ...args], {
      cwd: options.cwd ?? repo,
      env: options.env ?? { ...process.env },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const shop = new ShopProcess(proc)
    const started = await shop.waitForLog((e) => e.event === 'shop:start', 60_000)
    shop.url = started.url as string
    return shop
  }

  /** Waits for a JSON log line on stderr that matches. */
  async waitForLog(match: (entry: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
    const until = Date.now() + ms
    let seen = 0
    for (;;) {
      for (; seen < this.stderr.length; seen++) {
        try {
          const entry = JSON.parse(this.stderr[seen])
          if (match(entry)) return entry
        } catch {}
      }
      if (this.proc.exitCode !== null) throw new Error(`process exited ${this.proc.exitCode} before the expected log line:\n${this.stderr.slice(-20).join('\n')}`)
      if (Date.now() > until) throw new Error(`no matching log line within ${ms} ms:\n${this.stderr.slice(-20).join('\n')}`)
      await Bun.sleep(50)
    }
  }

  /** Resolves once /readyz answers 200; rejects with the last answer after `ms`. */
  async ready(ms = 60_000): Promise<void> {
    const until = Date.now() + ms
    let last = ''
    while (Date.now() < until) {
      const res = await fetch(`${this.url}/readyz`).catch(() => undefined)
      if (res?.status === 200) return
      if (res) last = await res.text()
      await Bun.sleep(100)
    }
    throw new Error(`not ready within ${ms} ms: ${last}`)
  }

  /** Notification lines printed by the console sink. */
  notifications(): Array<{ orderId: string; outcome: string; notificationId: string }> {
    return this.stdout.flatMap((line) => {
      try {
        const entry = JSON.parse(line)
        return entry.event === 'notification' ? [entry] : []
      } catch {
        return []
      }
    })
  }

  kill(signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT'): void {
    this.proc.kill(signal)
  }

  get exited(): Promise<number> {
    return this.proc.exited
  }
}

async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, newline))
      buffer = buffer.slice(newline + 1)
    }
  }
  if (buffer) lines.push(buffer)
}

/** Flags for a process of one test deployment on the real broker (its own topics and state directory). */
export function deploymentFlags(prefix: string, roles: string, extra: string[] = [], dataDir = mkdtempSync(join(tmpdir(), 'shop-state-'))): string[] {
  return [
    '--bus=kafka',
    `--brokers=${testBrokers.join(',')}`,
    `--topic-prefix=${prefix}`,
    `--roles=${roles}`,
    '--http-port=0',
    '--partitions=6',
    '--session-timeout-ms=4000',
    `--data-dir=${dataDir}`,
    '--log-level=debug',
    ...extra,
  ]
}

export const newPrefix = () => `test-${randomUUID().slice(0, 8)}.`

/**
 * The processes of one test file and a log client to check their topics. After the file, each
 * process's stderr is kept in /tmp/shop-test-logs/<name>/<n>.log, then everything is killed and closed.
 */
export function deployment(name: string) {
  const processes: ShopProcess[] = []
  const log = new KafkaLog({ brokers: testBrokers })
  afterAll(async () => {
    processes.forEach((p, i) => Bun.write(`/tmp/shop-test-logs/${name}/${i}.log`, p.stderr.join('\n')))
    for (const p of processes) p.kill('SIGKILL')
    await log.close()
  })
  const spawn = async (...args: Parameters<typeof ShopProcess.spawn>) => {
    const shop = await ShopProcess.spawn(...args)
    processes.push(shop)
    return shop
  }
  return { log, spawn }
}
