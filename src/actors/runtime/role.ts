import type { AnyElysia } from 'elysia'
import type { Readiness } from '../../api/health/readiness.ts'
import type { Config, RoleName } from '../../config/options.ts'
import type { Log } from '../../kafka/port.ts'
import type { Logger } from '../../log.ts'
import type { ReadModel } from '../../read-model/types.ts'
import type { TopicNames } from '../../topology.ts'
import type { Supervisor } from './supervisor.ts'

/** What a role gets from the process that hosts it. */
export interface RoleContext {
  config: Config
  log: Log
  logger: Logger
  supervisor: Supervisor
  topics: TopicNames
  /** The process's read model, opened on first use and shared by its roles (projector, api). */
  readModel: () => ReadModel
  /** Where the console sink writes (stdout unless a test captures it). */
  write?: (line: string) => void | Promise<void>
}

/** A role: a tree of supervised actors that one process runs (`--roles`). */
export interface Role {
  readonly name: RoleName
  /** HTTP routes the role serves, if any. */
  readonly http?: AnyElysia
  start(): Promise<void>
  readiness(): Readiness
  /** Stops intake, lets actors finish their current batch, leaves the consumer group. */
  stop(): Promise<void>
}

/** How a role is made from its context; `src/roles.ts` lists one per role name. */
export type RoleFactory = (ctx: RoleContext) => Role
