import { Type, type Static } from '@sinclair/typebox'
import { round } from './stats.ts'

/**
 * Where one consumer group's transactions spent their time during a measurement, from the
 * `actor:batch:committed` lines shop logs at --log-level=debug (medians over the batches):
 * `waited` is the age of a batch's oldest record when its handling began (the hop before, its
 * commit, the fetch and the queue); then handling, the sends, adding the offsets, and the commit.
 */
export const HopTiming = Type.Object(
  {
    group: Type.String(),
    batches: Type.Integer({ minimum: 1 }),
    recordsPerBatch: Type.Number(),
    waitedMs: Type.Number(),
    handleMs: Type.Number(),
    sendMs: Type.Number(),
    offsetsMs: Type.Number(),
    commitMs: Type.Number(),
  },
  { additionalProperties: false },
)
export type HopTiming = Static<typeof HopTiming>

interface Committed {
  event: 'actor:batch:committed'
  group: string
  records: number
  waitedMs: number
  handleMs: number
  sendMs: number
  offsetsMs: number
  commitMs: number
}

/** Per group (named without its topic prefix and `shop-`), the medians of the debug lines among `lines`. */
export function hopTimings(lines: string[]): HopTiming[] {
  const byGroup = new Map<string, Committed[]>()
  for (const line of lines) {
    if (!line.includes('"actor:batch:committed"')) continue
    const entry = JSON.parse(line) as Committed
    const group = entry.group.replace(/^.*?shop-/, '')
    const entries = byGroup.get(group)
    if (entries) entries.push(entry)
    else byGroup.set(group, [entry])
  }
  const median = (values: number[]) => round(values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)], 1)
  return [...byGroup]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, entries]) => ({
      group,
      batches: entries.length,
      recordsPerBatch: round(entries.reduce((n, e) => n + e.records, 0) / entries.length, 1),
      waitedMs: median(entries.map((e) => e.waitedMs)),
      handleMs: median(entries.map((e) => e.handleMs)),
      sendMs: median(entries.map((e) => e.sendMs)),
      offsetsMs: median(entries.map((e) => e.offsetsMs)),
      commitMs: median(entries.map((e) => e.commitMs)),
    }))
}
