import type { AnyElysia } from 'elysia'
import type { Readiness } from '../../api/health/readiness.ts'
import type { Config, RoleName } from '../../config/options.ts'
import type { Log } from '../../kafka/port.ts'
import type { Logger } from '../../log.ts'
import type { ReadModel } from '../../read-model/types.ts'
import type { GroupName, TopicNames } from '../../topology.ts'
import type { Supervisor } from './supervisor.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { SchemaStore } from '../../registry/store.ts'

/** What a role gets from the process that hosts it. */
export interface RoleContext {
  config: Config
  log: Log
  logger: Logger
  supervisor: Supervisor
  topics: TopicNames
  /** Shop's schema registry storage (the `_schemas` topic), served by the registry role. */
  schemaStore: SchemaStore
  /** The process's Prometheus metrics. */
  metrics: Metrics
  /** The process's read model, opened on first use and shared by its roles (projector, api). */
  readModel: () => ReadModel
  /** Where the console sink writes (stdout unless a test captures it). */
  write?: (line: string) => void | Promise<void>
}

/** A role: a tree of supervised actors that one process runs (`--roles`). */
export interface Role {
  /** The role's name, or the name of one of its consumer groups; `workers` for a supervisor's worker processes. */
  readonly name: GroupName | 'workers'
  /** HTTP routes the role serves, if any. */
  readonly http?: AnyElysia
  start(): Promise<void>
  readiness(): Readiness
  /** Stops intake, lets actors finish their current batch, leaves the consumer group. */
  stop(): Promise<void>
}

/** How a role is made from its context; `src/roles.ts` lists one per role name. */
export type RoleFactory = (ctx: RoleContext) => Role

/**
 * A role made of several (a role with two consumer groups): started in order, stopped in reverse,
 * ready when every part is. `release` frees what the parts shared (connections) after they stopped.
 */
export function compositeRole(name: RoleName, parts: Role[], release?: () => Promise<void>): Role {
  // A start that failed part-way is retried (Shop.start does) from the part that failed.
  let started = 0
  return {
    name,
    async start() {
      for (; started < parts.length; started++) await parts[started].start()
    },
    readiness() {
      return parts.map((p) => p.readiness()).find((r) => !r.ready) ?? { ready: true }
    },
    async stop() {
      for (const part of parts.slice(0, started).reverse()) await part.stop()
      await release?.()
    },
  }
}
