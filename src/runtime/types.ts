/**
 * What differs between the two runtimes shop runs on, Bun and Deno. Business code, actors and
 * adapters use this face (`src/runtime/index.ts`) and never name a runtime; everything else they
 * need (files, timers, crypto, streams) is in the `node:` modules and web APIs both runtimes have.
 */
export interface Runtime {
  readonly name: 'bun' | 'deno'
  /** Opens (creating it) a SQLite database file, or ':memory:'. */
  openSqlite(path: string): SqliteDatabase
  /** True for SQLite's answer to a file that is not, or no longer, a sound database. */
  isSqliteCorrupt(error: unknown): boolean
  /** Serves an Elysia app: its own listener on Bun (the faster path), `Deno.serve(app.fetch)` on Deno. */
  serveApp(app: ServableApp, address: ListenAddress): HttpServer
  /** Serves a plain fetch handler (test receivers, the bench's stand-ins). */
  serve(fetch: (request: Request) => Response | Promise<Response>, address: ListenAddress): HttpServer
  /** Writes to stdout and resolves once the bytes are handed to the OS. */
  writeStdout(text: string): Promise<void>
  /** Starts a process with piped stdout and stderr. */
  spawn(argv: string[], options?: SpawnOptions): ChildProcess
  /** The command that runs `src/main.ts` (or another entry script) on this runtime. */
  scriptCommand(script: string): string[]
  /** The command that starts this program again: the compiled binary itself, or the runtime and its entry script. */
  selfCommand(): string[]
  /**
   * Has the engine's collector sized for `bytes` of memory (0: the engine's own choice, by the
   * machine's memory or the container's limit), and returns the size in effect (`bytes` undefined:
   * the engine's own), with why it was not sized when it should have been (`unsized`). On Bun this
   * starts the process again in place (`execve`: same pid, arguments and environment, plus
   * `BUN_JSC_forceRAMSize`), as JavaScriptCore reads it only at start; a size already set in the
   * environment is kept. Call it before anything else starts. Deno's V8 sizes its heap by its own
   * flags: there it does nothing.
   */
  sizeCollector(bytes: number): { bytes: number | undefined; unsized?: string }
}

export type SqlValue = string | number | bigint | null | Uint8Array

/** A prepared statement; parameters bind positionally to `?`. */
export interface SqliteStatement<Row, Params extends SqlValue[]> {
  run(...params: Params): void
  get(...params: Params): Row | undefined
  all(...params: Params): Row[]
  /** Releases the statement. bun:sqlite closes a connection only once its statements are released (until then it holds the file's locks). */
  finalize(): void
}

/** A synchronous SQLite connection (bun:sqlite on Bun, node:sqlite on Deno). */
export interface SqliteDatabase {
  /** Runs one statement that returns no rows. */
  exec(sql: string, params?: SqlValue[]): void
  prepare<Row = Record<string, SqlValue>, Params extends SqlValue[] = SqlValue[]>(sql: string): SqliteStatement<Row, Params>
  /** Wraps `body` so that each call runs in one transaction (rolled back if it throws). */
  transaction<A extends unknown[]>(body: (...args: A) => void): (...args: A) => void
  close(): void
}

export interface ListenAddress {
  port: number
  hostname: string
}

export interface HttpServer {
  readonly hostname: string
  readonly port: number
  /** Stops accepting connections and resolves once the server is closed. */
  stop(): Promise<void>
}

/** The part of an Elysia app that serving needs. */
export interface ServableApp {
  fetch: (request: Request) => Response | Promise<Response>
  listen(options: ListenAddress): unknown
  stop(): Promise<unknown>
  server: { hostname?: string; port?: number } | null
}

export interface SpawnOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** pipe (default): read through `stdout` and `stderr`; inherit: the child writes to this process's own (both streams are then empty). */
  output?: 'pipe' | 'inherit'
}

export interface ChildProcess {
  readonly pid: number
  readonly stdout: ReadableStream<Uint8Array>
  readonly stderr: ReadableStream<Uint8Array>
  /** null until the process exited with a code. */
  readonly exitCode: number | null
  /** Resolves with the exit code (128 + n after signal n, as a shell reports it). */
  readonly exited: Promise<number>
  kill(signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT'): void
}
