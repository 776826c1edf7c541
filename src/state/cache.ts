import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import type { Logger } from '../log.ts'

/** SQLite's answers for a file that is not, or no longer, a sound database. */
const corrupt = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB'])

export const isCorruptCache = (error: unknown): boolean =>
  error instanceof Error && error.name === 'SQLiteError' && corrupt.has(String((error as { code?: unknown }).code).split('_').slice(0, 2).join('_'))

/** Opens a state cache file (or ':memory:') the way every actor uses it: WAL, normal sync. */
export function openCache(path: string): Database {
  const db = new Database(path, { create: true, strict: true })
  db.run('PRAGMA journal_mode = WAL')
  db.run('PRAGMA synchronous = NORMAL')
  return db
}

/**
 * Opens the cache at `path` and runs `use` on it. The cache only speeds up restores (the changelog
 * is the truth), so a file SQLite calls corrupt is discarded, logged, and `use` runs again on an
 * empty cache, which then fills from the changelog: a damaged file never becomes a crash loop.
 */
export async function withCache<T>(path: string, logger: Logger, use: (db: Database) => Promise<T>): Promise<{ db: Database; result: T }> {
  let db: Database | undefined
  try {
    db = openCache(path)
    return { db, result: await use(db) }
  } catch (error) {
    db?.close()
    if (!isCorruptCache(error) || path === ':memory:') throw error
    logger.warn({ event: 'state:cache:discarded', path, err: error }, `discarding the corrupt state cache ${path}; rebuilding it from the changelog`)
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
    db = openCache(path)
    return { db, result: await use(db) }
  }
}
