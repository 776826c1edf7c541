import { type Static, Type } from '@sinclair/typebox'
import { OrderStatus } from './lifecycle.ts'
import { StockLevel } from './inventory.ts'

const Instant = (description: string) => Type.String({ minLength: 1, description })

/**
 * `shop-processes` (compacted, key: the process id): each running process says every few seconds
 * what it runs and whether it is ready, so that any api process can show the whole deployment. A
 * clean stop writes a tombstone; a process killed stops beating, and the console marks it silent.
 */
export const ProcessHeartbeat = Type.Object({
  id: Type.String({ minLength: 1 }),
  host: Type.String(),
  pid: Type.Integer(),
  runtime: Type.String(),
  roles: Type.Array(Type.String()),
  /** Where its HTTP server listens (probes, metrics). */
  url: Type.String(),
  ready: Type.Boolean(),
  /** Why it is not ready, one line per role that is not. */
  reasons: Type.Array(Type.String()),
  startedAt: Instant('ISO 8601, when the process started'),
  at: Instant('ISO 8601, when this beat was sent'),
  /** How long until the next beat; a beat older than three of these means the process went silent. */
  everyMs: Type.Integer({ minimum: 1 }),
})
export type ProcessHeartbeat = Static<typeof ProcessHeartbeat>

/**
 * `shop.dlq.replays` (compacted, key: `<dlq partition>:<dlq offset>`, written to the DLQ record's
 * own partition): a dead-lettered record was replayed to its origin topic. Written in the same
 * transaction as the replayed record, so a record is replayed once, whoever asks how often.
 */
export const DeadLetterReplayed = Type.Object({
  partition: Type.Integer({ minimum: 0 }),
  offset: Type.String({ description: 'the DLQ record\'s offset (a decimal string: offsets are 64-bit)' }),
  /** Where it was sent; `offset` only in the replay's answer (the mark is written in the same transaction, before the position exists). */
  to: Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.Optional(Type.String()) }),
  at: Instant('ISO 8601, when it was replayed'),
})
export type DeadLetterReplayed = Static<typeof DeadLetterReplayed>

/** A dead-lettered record as the console lists it: where it came from, why it failed, whether it was replayed. */
export const DeadLetterEntry = Type.Object({
  partition: Type.Integer(),
  offset: Type.String(),
  key: Type.Union([Type.String(), Type.Null()]),
  /** The record's value as text (the first 2 KiB), for reading; a replay sends the original bytes. */
  value: Type.String(),
  origin: Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.String() }),
  group: Type.String(),
  error: Type.String(),
  errorCode: Type.String(),
  attempts: Type.Integer(),
  at: Type.String(),
  replayed: Type.Optional(DeadLetterReplayed),
})
export type DeadLetterEntry = Static<typeof DeadLetterEntry>

/** One order as the console's live list shows it: its latest step from `order.status`. */
export const LiveOrder = Type.Object({
  orderId: Type.String(),
  userId: Type.String(),
  status: OrderStatus,
  total: Type.Optional(Type.Number()),
  currency: Type.Optional(Type.String()),
  placedAt: Type.Optional(Type.String()),
  at: Type.String(),
  reason: Type.Optional(Type.String()),
})
export type LiveOrder = Static<typeof LiveOrder>

/** One second of the live charts, by event time: orders accepted (`pending`) and completed (a final status), and the end-to-end latency of those completed. */
export const Second = Type.Object({
  at: Type.Integer({ description: 'the second, in milliseconds since the epoch' }),
  accepted: Type.Integer(),
  completed: Type.Integer(),
  p50Ms: Type.Union([Type.Number(), Type.Null()]),
  p99Ms: Type.Union([Type.Number(), Type.Null()]),
})
export type Second = Static<typeof Second>

/** What `GET /console/state` answers and `GET /console/events` sends each second. */
export const ConsoleState = Type.Object({
  at: Type.String(),
  seconds: Type.Array(Second),
  outcomes: Type.Record(Type.String(), Type.Integer(), { description: 'final statuses reached in the charts\' window, by status' }),
  orders: Type.Array(LiveOrder),
  stock: Type.Array(StockLevel),
  lag: Type.Array(Type.Object({ group: Type.String(), lag: Type.Integer(), partitions: Type.Integer() })),
  processes: Type.Array(Type.Intersect([ProcessHeartbeat, Type.Object({ silent: Type.Boolean() })])),
  /** The newest dead letters, newest first. */
  deadLetters: Type.Array(DeadLetterEntry),
})
export type ConsoleState = Static<typeof ConsoleState>
