import type { SqlValue } from '../runtime/index.ts'

/**
 * A parameterised statement built with the `sql` tag: the values never enter the text. Values that
 * are themselves `Query`s are fragments, spliced in with their own values.
 *
 * @example const where = status ? sql`WHERE status = ${status}` : sql``
 *          await db.query(sql`SELECT * FROM orders ${where} LIMIT ${limit}`)
 */
export class Query {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

export const sql = (strings: TemplateStringsArray, ...values: unknown[]): Query => new Query(strings, values)

/** The statement text with numbered placeholders (`?` for SQLite, `$n` for PostgreSQL) and its parameters. */
export function render(query: Query, placeholder: (n: number) => string): { text: string; params: SqlValue[] } {
  const params: SqlValue[] = []
  const walk = (q: Query): string =>
    q.strings.reduce((text, part, i) => {
      if (i === 0) return part
      const value = q.values[i - 1]
      if (value instanceof Query) return text + walk(value) + part
      params.push(value as SqlValue)
      return text + placeholder(params.length) + part
    }, '')
  return { text: walk(query), params }
}

/**
 * The read model's port to its database: SQLite (`sqlite-client.ts`) or PostgreSQL
 * (`postgres-client.ts`). Statements are written in the SQL both speak; `dialect` is for the few
 * that differ (locks, catalog queries).
 */
export interface SqlClient {
  readonly dialect: 'sqlite' | 'postgres'
  /** Runs a statement and resolves with its rows (none for a write). */
  query<Row = Record<string, unknown>>(query: Query): Promise<Row[]>
  /** Runs statement text as it is: schema changes and pragmas, never values. */
  unsafe<Row = Record<string, unknown>>(statement: string): Promise<Row[]>
  /**
   * Runs `body` in one writing transaction, committed when it resolves and rolled back when it
   * rejects. SQLite takes its write lock at BEGIN (a transaction that read first could not upgrade
   * once another process wrote).
   */
  transaction<T>(body: (tx: SqlClient) => Promise<T>): Promise<T>
  close(): Promise<void>
}
