import { runtime } from '../runtime/index.ts'
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
  const run = <Row>(text: string, params: Parameters<typeof db.exec>[1] = []) => db.prepare<Row>(text).all(...params)
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
    close: () => exclusive(() => db.close()),
  }
}
