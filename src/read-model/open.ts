import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Config } from '../config/options.ts'
import { type ReadModelTarget, SqlReadModel } from './sql.ts'
import type { ReadModel } from './types.ts'

/**
 * Where `--read-model` points: `postgres://...` (or `postgresql://`), `sqlite:<path>`, or by
 * default a bun:sqlite file under --data-dir; on the memory bus an in-memory database, since the
 * topics it is folded from die with the process too.
 */
/** The read model's file in --data-dir when --read-model is not set. */
export const defaultReadModelFile = 'read-model.sqlite'

export function readModelTarget(config: Pick<Config, 'readModel' | 'dataDir'>, bus: 'memory' | 'kafka'): ReadModelTarget {
  if (/^postgres(ql)?:\/\//.test(config.readModel)) return { kind: 'postgres', url: config.readModel }
  if (config.readModel) return { kind: 'sqlite', path: config.readModel.slice('sqlite:'.length) }
  return { kind: 'sqlite', path: bus === 'memory' ? ':memory:' : join(config.dataDir, defaultReadModelFile) }
}

export function openReadModel(target: ReadModelTarget): ReadModel {
  if (target.kind === 'sqlite' && target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true })
  return new SqlReadModel(target)
}
