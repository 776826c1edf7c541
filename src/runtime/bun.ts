import { Database, type Statement } from 'bun:sqlite'
import type { ChildProcess, HttpServer, Runtime, SqlValue, SqliteDatabase, SqliteStatement } from './types.ts'

/** SQLite's result codes for a file that is not, or no longer, a sound database. */
const corrupt = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB'])

function openSqlite(path: string): SqliteDatabase {
  const db = new Database(path, { create: true, strict: true })
  return {
    exec: (sql, params = []) => void db.run(sql, params),
    prepare: <Row, Params extends SqlValue[]>(sql: string) => statement<Row, Params>(db.prepare(sql) as unknown as Statement<Row, Params>),
    transaction: (body) => db.transaction(body),
    close: () => db.close(),
  }
}

function statement<Row, Params extends SqlValue[]>(s: Statement<Row, Params>): SqliteStatement<Row, Params> {
  return {
    run: (...params) => void s.run(...params),
    get: (...params) => s.get(...params) ?? undefined,
    all: (...params) => s.all(...params),
    finalize: () => s.finalize(),
  }
}

/** JavaScriptCore's option for the memory it sizes its heap by, read once at start. */
const ramSize = 'BUN_JSC_forceRAMSize'

let stdout: ReturnType<typeof Bun.stdout.writer> | undefined

function server(s: { hostname?: string; port?: number }, stop: () => Promise<void>): HttpServer {
  return { hostname: s.hostname ?? '', port: s.port ?? 0, stop }
}

export const bun: Runtime = {
  name: 'bun',
  openSqlite,
  isSqliteCorrupt: (error) =>
    error instanceof Error && error.name === 'SQLiteError' && corrupt.has(String((error as { code?: unknown }).code).split('_').slice(0, 2).join('_')),
  serveApp(app, address) {
    app.listen(address)
    return server(app.server!, async () => void (await app.stop()))
  },
  serve(fetch, address) {
    const s = Bun.serve({ ...address, fetch })
    return server(s, () => s.stop(true))
  },
  async writeStdout(text) {
    stdout ??= Bun.stdout.writer()
    stdout.write(text)
    await stdout.flush()
  },
  spawn(argv, options = {}): ChildProcess {
    const output = options.output ?? 'pipe'
    const proc = Bun.spawn(argv, { cwd: options.cwd, env: options.env ?? { ...process.env }, stdin: 'ignore', stdout: output, stderr: output })
    return {
      pid: proc.pid,
      stdout: proc.stdout ?? emptyStream(),
      stderr: proc.stderr ?? emptyStream(),
      get exitCode() {
        return proc.exitCode
      },
      exited: proc.exited,
      kill: (signal) => proc.kill(signal),
    }
  },
  scriptCommand: (script) => [process.execPath, script],
  selfCommand,
  sizeCollector(bytes) {
    const set = process.env[ramSize]
    if (set !== undefined) return { bytes: Number(set) || undefined }
    const size = collectorBytes(bytes)
    if (size === undefined) return { bytes: undefined }
    // Bun's CPU profiler samples the thread with signals, and one that arrives across the execve
    // reaches the new image before it handles it: 7 of 60 starts under `--cpu-prof` (Bun 1.4.5)
    // were killed by SIGPWR or hung silently. Under the profiler the size is left to the caller.
    if (process.execArgv.some((arg) => arg === '--cpu-prof' || arg === '--cpu-prof-md')) {
      return { bytes: undefined, unsized: `Bun's CPU profiler is on, and starting again under it can kill the process: set ${ramSize}=${size} to size the collector` }
    }
    const command = selfCommand()
    process.execve!(command[0]!, [...command, ...process.argv.slice(2)], { ...process.env, [ramSize]: String(size) })
    return { bytes: size } // not reached: execve replaced the process
  },
}

/**
 * The memory to tell Bun's engine for `bytes` asked (`--engine-ram-mb`): undefined when that is
 * the engine's own choice (0) or no less than the machine's or the container's memory, which the
 * engine reads by itself.
 */
export function collectorBytes(bytes: number): number | undefined {
  return bytes <= 0 || bytes >= process.constrainedMemory() ? undefined : bytes
}

/** A compiled binary's entry script lives in its embedded file system; the binary alone starts it. */
function selfCommand(): string[] {
  return Bun.main.startsWith('/$bunfs/') ? [process.execPath] : [process.execPath, Bun.main]
}

const emptyStream = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() })

