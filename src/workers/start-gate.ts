import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../log.ts'
import { sleep } from '../time.ts'

/**
 * Where the workers of a `--workers` tree, started together, wait for each other before they join
 * their consumer groups: a directory in the supervisor's data directory, where each worker writes
 * a file named by its index once it is that far, and how many workers there are.
 *
 * The broker completes a group's first join `group.initial.rebalance.delay.ms` after it (100 ms on
 * the project's broker). A worker whose join comes later than that finds the group formed without
 * it: the first took every partition, hands half of them back a heartbeat later (~1 s), its
 * transactions in flight end fenced and the moved partitions' state is replayed again. Started
 * together, the workers still reach their joins at different times: each first loads the program,
 * checks the topics and registers the event schemas, and on two cores shared with the broker one of
 * them can fall behind by more than that. `--roles=order,inventory --workers=2` started twelve times
 * on new topics beside two busy loops: without the gate 4 starts split so (one worker restored all
 * twelve partitions, its sibling started a second later), with it none; the first worker at the
 * gate waited 16 to 144 ms for the second (docs/performance.md, "One generation at start").
 */
export interface StartGate {
  dir: string
  workers: number
}

/** How often a worker at the gate looks for its siblings. */
const lookEveryMs = 5

/** Opens an empty gate in `dir` for `workers` workers (a gate left from an earlier start is removed first). */
export function openStartGate(dir: string, workers: number): StartGate {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return { dir, workers }
}

/**
 * Says worker `index` is at the gate, then waits until every worker is, or `timeoutMs` passed (a
 * sibling that crashed before the gate must not hold the others: they go on, and the group
 * rebalances when it comes back). Returns how long it waited and how many workers it saw there.
 */
export async function passStartGate(gate: StartGate, index: number, timeoutMs = 5_000): Promise<{ waitedMs: number; arrived: number }> {
  const began = performance.now()
  writeFileSync(join(gate.dir, String(index)), '')
  for (;;) {
    const arrived = readdirSync(gate.dir).length
    const waitedMs = Math.round(performance.now() - began)
    if (arrived >= gate.workers || waitedMs >= timeoutMs) return { waitedMs, arrived }
    await sleep(lookEveryMs)
  }
}

/**
 * Worker `index` at the gate, as a starting worker meets it: it waits (passStartGate) and logs how
 * long and with how many (`worker:gate`). A gate it cannot use is no reason to fail its start: it
 * says so and goes on at once.
 */
export async function waitAtStartGate(gate: StartGate, index: number, logger: Logger): Promise<void> {
  try {
    const passed = await passStartGate(gate, index)
    const fields = { event: 'worker:gate', ...passed, workers: gate.workers }
    if (passed.arrived >= gate.workers) logger.info(fields, `every worker at the start gate after ${passed.waitedMs} ms`)
    else logger.warn(fields, `${passed.arrived} of ${gate.workers} workers at the start gate after ${passed.waitedMs} ms; joining without the others`)
  } catch (error) {
    logger.warn({ event: 'worker:gate', err: error }, `the start gate ${gate.dir} cannot be used; joining without waiting for the other workers`)
  }
}
