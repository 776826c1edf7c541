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
    if (set !== undefined) return Number(set) || undefined
    if (bytes <= 0 || bytes >= process.constrainedMemory()) return undefined
    const command = selfCommand()
    process.execve!(command[0]!, [...command, ...process.argv.slice(2)], { ...process.env, [ramSize]: String(bytes) })
  },
}

/** A compiled binary's entry script lives in its embedded file system; the binary alone starts it. */
function selfCommand(): string[] {
  return Bun.main.startsWith('/$bunfs/') ? [process.execPath] : [process.execPath, Bun.main]
}

const emptyStream = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() })

