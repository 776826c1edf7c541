import { rmSync } from 'node:fs'
import type { Logger } from '../log.ts'
import { runtime, type SqliteDatabase } from '../runtime/index.ts'

/** Opens a state cache file (or ':memory:') the way every actor uses it: WAL, normal sync. */
export function openCache(path: string): SqliteDatabase {
  const db = runtime.openSqlite(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
  return db
}

/**
 * Opens the cache at `path` and runs `use` on it. The cache only speeds up restores (the changelog
 * is the truth), so a file SQLite calls corrupt is discarded, logged, and `use` runs again on an
 * empty cache, which then fills from the changelog: a damaged file never becomes a crash loop.
 */
export async function withCache<T>(path: string, logger: Logger, use: (db: SqliteDatabase) => Promise<T>): Promise<{ db: SqliteDatabase; result: T }> {
  let db: SqliteDatabase | undefined
  try {
    db = openCache(path)
    return { db, result: await use(db) }
  } catch (error) {
    db?.close()
    if (!runtime.isSqliteCorrupt(error) || path === ':memory:') throw error
    logger.warn({ event: 'state:cache:discarded', path, err: error }, `discarding the corrupt state cache ${path}; rebuilding it from the changelog`)
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
    db = openCache(path)
    return { db, result: await use(db) }
  }
}
