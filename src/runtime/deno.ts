import { DatabaseSync } from 'node:sqlite'
import { resolve } from 'node:path'
import type { ChildProcess, HttpServer, Runtime, SqlValue, SqliteDatabase, SqliteStatement } from './types.ts'

/** The part of the `Deno` global shop uses (the project type-checks with Bun's types). */
declare const Deno: {
  execPath(): string
  serve(
    options: { port: number; hostname: string; onListen?: () => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { hostname: string; port: number }; shutdown(): Promise<void> }
  stdout: { write(bytes: Uint8Array): Promise<number> }
  Command: new (
    command: string,
    options: { args: string[]; cwd?: string; env?: Record<string, string>; clearEnv?: boolean; stdin: 'null'; stdout: 'piped' | 'inherit'; stderr: 'piped' | 'inherit' },
  ) => {
    spawn(): {
      pid: number
      stdout: ReadableStream<Uint8Array> | null
      stderr: ReadableStream<Uint8Array> | null
      status: Promise<{ code: number; signal: string | null }>
      kill(signal: string): void
    }
  }
}

/** SQLite's primary result codes for a file that is not, or no longer, a sound database. */
const SQLITE_CORRUPT = 11
const SQLITE_NOTADB = 26

function openSqlite(path: string): SqliteDatabase {
  const db = new DatabaseSync(path)
  return {
    exec: (sql, params = []) => void db.prepare(sql).run(...params),
    prepare: <Row, Params extends SqlValue[]>(sql: string): SqliteStatement<Row, Params> => {
      const s = db.prepare(sql)
      return {
        run: (...params) => void s.run(...params),
        get: (...params) => s.get(...params) as Row | undefined,
        all: (...params) => s.all(...params) as Row[],
        // node:sqlite finalizes a connection's statements when it closes.
        finalize: () => {},
      }
    },
    transaction:
      (body) =>
      (...args) => {
        db.exec('BEGIN')
        try {
          body(...args)
          db.exec('COMMIT')
        } catch (error) {
          if (db.isTransaction) db.exec('ROLLBACK')
          throw error
        }
      },
    close: () => db.close(),
  }
}

const encoder = new TextEncoder()
/** Writes in the order they were asked for: one write may take several calls. */
let stdoutQueue: Promise<void> = Promise.resolve()

async function writeAll(bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length; ) written += await Deno.stdout.write(bytes.subarray(written))
}

function server(s: ReturnType<typeof Deno.serve>): HttpServer {
  return { hostname: s.addr.hostname, port: s.addr.port, stop: () => s.shutdown() }
}

const signals: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** This project's Deno configuration: the import map and the npm packages in node_modules. */
const config = resolve(import.meta.dirname!, '../../deno.json')

/** The command that runs `script` on the Deno at `deno`, with this project's configuration. */
export const denoRun = (deno: string, script: string): string[] => [deno, 'run', '--allow-all', `--config=${config}`, script]

export const deno: Runtime = {
  name: 'deno',
  openSqlite,
  isSqliteCorrupt(error) {
    const errcode = (error as { code?: unknown; errcode?: unknown }).code === 'ERR_SQLITE_ERROR' ? Number((error as { errcode: unknown }).errcode) & 0xff : -1
    return errcode === SQLITE_CORRUPT || errcode === SQLITE_NOTADB
  },
  // onListen: Deno would otherwise print "Listening on" to stdout, where notifications go.
  serveApp: (app, address) => deno.serve(app.fetch, address),
  serve: (fetch, address) => server(Deno.serve({ ...address, onListen() {} }, fetch)),
  writeStdout(text) {
    const bytes = encoder.encode(text)
    stdoutQueue = stdoutQueue.then(() => writeAll(bytes))
    return stdoutQueue
  },
  spawn(argv, options = {}): ChildProcess {
    const [command, ...args] = argv
    const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined))
    const output = options.output === 'inherit' ? 'inherit' : 'piped'
    const proc = new Deno.Command(command!, { args, cwd: options.cwd, env, clearEnv: true, stdin: 'null', stdout: output, stderr: output }).spawn()
    let exitCode: number | null = null
    let running = true
    const exited = proc.status.then(({ code, signal }) => {
      running = false
      if (!signal) exitCode = code
      return signal ? 128 + (signals[signal] ?? 0) : code
    })
    return {
      pid: proc.pid,
      // Empty when inherited (reading the getter throws then).
      stdout: output === 'piped' ? proc.stdout! : emptyStream(),
      stderr: output === 'piped' ? proc.stderr! : emptyStream(),
      get exitCode() {
        return exitCode
      },
      exited,
      kill(signal) {
        // As on Bun, signalling a process that has exited does nothing (Deno throws a TypeError,
        // also in the moment before `status` settles).
        if (!running) return
        try {
          proc.kill(signal)
        } catch (error) {
          if (!(error instanceof TypeError)) throw error
        }
      },
    }
  },
  scriptCommand: (script) => denoRun(Deno.execPath(), script),
  selfCommand: () => denoRun(Deno.execPath(), process.argv[1]!),
  sizeCollector: () => ({ bytes: undefined }),
}

const emptyStream = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() })
