import postgres from 'postgres'
import { type Query, type SqlClient, render } from './sql-client.ts'

/**
 * The read model's PostgreSQL, on postgres.js (pure JavaScript: the same client on Bun and Deno).
 * A pool of ten connections; a transaction holds one of them.
 */
export function postgresClient(url: string): SqlClient {
  // Notices ("relation already exists, skipping") would go to stdout, where notifications go.
  const pool = postgres(url, { max: 10, onnotice: () => {} })
  const over = (db: postgres.Sql | postgres.TransactionSql): SqlClient => ({
    dialect: 'postgres',
    query: async <Row>(query: Query) => {
      const { text, params } = render(query, (n) => `$${n}`)
      return (await db.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as Row[]
    },
    unsafe: async <Row>(statement: string) => (await db.unsafe(statement)) as unknown as Row[],
    transaction: async <T>(body: (tx: SqlClient) => Promise<T>) => (await pool.begin((tx) => body(over(tx)))) as T,
    close: () => pool.end(),
  })
  return over(pool)
}
