import { type SqlValue, type SqliteStatement, runtime } from '../runtime/index.ts'
import { type Query, type SqlClient, render } from './sql-client.ts'

/**
 * The read model's SQLite (bun:sqlite on Bun, node:sqlite on Deno). The connection is synchronous
 * and shared, so work on it takes turns: a transaction's statements are never interleaved with
 * another caller's.
 */
export function sqliteClient(path: string): SqlClient {
  const db = runtime.openSqlite(path)
  let turn: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(work: () => T | Promise<T>): Promise<T> => {
    const done = turn.then(work)
    turn = done.catch(() => {})
    return done
  }
  // Each statement text prepared once, finalized at close. The texts are the model's few templates
  // (placeholders, never values); preparing at every call was half the cost of a projected step: 44
  // to 49 against 21 to 27 µs of CPU (`bun bench/micro/read-model.ts`).
  const statements = new Map<string, SqliteStatement<unknown, SqlValue[]>>()
  const run = <Row>(text: string, params: SqlValue[] = []): Row[] => {
    let statement = statements.get(text)
    if (!statement) statements.set(text, (statement = db.prepare<unknown, SqlValue[]>(text)))
    return statement.all(...params) as Row[]
  }
  const inTurn: SqlClient = {
    dialect: 'sqlite',
    query: async <Row>(query: Query) => {
      const { text, params } = render(query, () => '?')
      return run<Row>(text, params)
    },
    unsafe: async <Row>(statement: string) => run<Row>(statement),
    transaction: () => Promise.reject(new Error('the read model does not nest transactions')),
    close: () => Promise.reject(new Error('close the client, not its transaction')),
  }
  return {
    dialect: 'sqlite',
    query: (query) => exclusive(() => inTurn.query(query)),
    unsafe: (statement) => exclusive(() => inTurn.unsafe(statement)),
    transaction: (body) =>
      exclusive(async () => {
        db.exec('BEGIN IMMEDIATE')
        try {
          const result = await body(inTurn)
          db.exec('COMMIT')
          return result
        } catch (error) {
          db.exec('ROLLBACK')
          throw error
        }
      }),
    close: () =>
      exclusive(() => {
        for (const statement of statements.values()) statement.finalize()
        statements.clear()
        db.close()
      }),
  }
}
