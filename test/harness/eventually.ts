import { sleep } from '../../src/time.ts'

/**
 * Re-runs `check` until it passes or `ms` elapse, then runs it once more so that a failure is
 * readable. The one way tests and the bench wait for a condition (never a bare sleep).
 *
 * @example await eventually(() => expect(received.length).toBe(3), 5_000)
 */
export async function eventually<T>(check: () => T | Promise<T>, ms: number, intervalMs = 25): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > until) throw error
      await sleep(intervalMs)
    }
  }
}
