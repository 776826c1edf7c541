import { join, resolve } from 'node:path'
import { type ChildProcess, runtime } from '../../src/runtime/index.ts'
import { eventually } from './eventually.ts'

/** The repository root. */
export const repo = resolve(import.meta.dirname, '../..')

/** A `shop` process started as users start it, with its stdout (notifications) and stderr (logs) collected. */
export class ShopProcess {
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  url = ''
  /** The runtime the process runs on, as its `shop:start` log line says. */
  runtime = ''
  /** Resolves once both output streams ended (every line the process wrote is collected). */
  readonly drained: Promise<void>
  /** The process's exit status once it exited (128 + n after signal n), null while it runs. */
  exitStatus: number | null = null

  private constructor(
    readonly proc: ChildProcess,
    onStdout?: (line: string) => void,
  ) {
    this.drained = Promise.all([collect(proc.stdout, this.stdout, onStdout), collect(proc.stderr, this.stderr)]).then(() => {})
    void proc.exited.then((status) => (this.exitStatus = status))
  }

  /**
   * Spawns `command args` (default: `src/main.ts` on this runtime) and waits for its HTTP server. `onStdout`
   * sees each stdout line as it arrives (the bench times notifications with it).
   */
  static async spawn(
    args: string[],
    options: { command?: string[]; cwd?: string; env?: Record<string, string | undefined>; onStdout?: (line: string) => void } = {},
  ) {
    const command = options.command ?? runtime.scriptCommand(join(repo, 'src/main.ts'))
    const proc = runtime.spawn([...command, ...args], { cwd: options.cwd ?? repo, env: options.env })
    const shop = new ShopProcess(proc, options.onStdout)
    const started = await shop.waitForLog((e) => e.event === 'shop:start', 60_000)
    shop.url = started.url as string
    shop.runtime = started.runtime as string
    return shop
  }

  /** Waits for a JSON log line on stderr that matches. */
  async waitForLog(match: (entry: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
    let seen = 0
    const found = await eventually(() => {
      for (; seen < this.stderr.length; seen++) {
        try {
          const entry = JSON.parse(this.stderr[seen])
          if (match(entry)) return entry as Record<string, unknown>
        } catch {}
      }
      if (this.proc.exitCode !== null) return null
      throw new Error(`no matching log line within ${ms} ms:\n${this.stderr.slice(-20).join('\n')}`)
    }, ms, 50)
    if (!found) throw new Error(`process exited ${this.proc.exitCode} before the expected log line:\n${this.stderr.slice(-20).join('\n')}`)
    return found
  }

  /**
   * Resolves once /readyz answers 200. Rejects at once if the process exits, else with the last
   * answer after `ms`; either way with the process's last log lines, which say why.
   */
  async ready(ms = 60_000): Promise<void> {
    const logTail = () => this.stderr.slice(-20).join('\n')
    let exited: boolean
    try {
      exited = await eventually(async () => {
        if (this.exitStatus !== null) return true
        const res = await fetch(`${this.url}/readyz`)
        if (res.status !== 200) throw new Error(`not ready within ${ms} ms: ${await res.text()}`)
        return false
      }, ms, 100)
    } catch (error) {
      throw new Error(`${(error as Error).message}\nits last log lines:\n${logTail()}`, { cause: error })
    }
    if (exited) throw new Error(`process exited (status ${this.exitStatus}) before it was ready; its last log lines:\n${logTail()}`)
  }

  /** Its JSON log lines (stderr), in order. */
  logLines(): Array<Record<string, any>> {
    return this.stderr.flatMap((line) => {
      try {
        return [JSON.parse(line)]
      } catch {
        return []
      }
    })
  }

  /** Notification lines printed by the console sink. */
  notifications(): Array<{ orderId: string; status: string; notificationId: string }> {
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

  /** Resolves with the exit code once the process exited and every line it wrote is collected. */
  get exited(): Promise<number> {
    return Promise.all([this.proc.exited, this.drained]).then(([code]) => code)
  }
}

async function collect(stream: ReadableStream<Uint8Array>, lines: string[], onLine?: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      lines.push(line)
      onLine?.(line)
      buffer = buffer.slice(newline + 1)
    }
  }
  if (buffer) lines.push(buffer)
}
