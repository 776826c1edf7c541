import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Config } from '../config/options.ts'
import { SqliteReadModel } from './sqlite.ts'
import type { ReadModel } from './types.ts'

/**
 * The read model named by `--read-model`. By default a bun:sqlite file under --data-dir; on the
 * memory bus an in-memory database, since the topics it is folded from die with the process too.
 */
export function openReadModel(config: Pick<Config, 'readModel' | 'dataDir'>, bus: 'memory' | 'kafka'): ReadModel {
  const path = config.readModel ? config.readModel.slice('sqlite:'.length) : bus === 'memory' ? ':memory:' : join(config.dataDir, 'read-model.sqlite')
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  return new SqliteReadModel(path)
}
