import { describe, expect, test } from 'bun:test'
import { nowIso, sleep } from './time.ts'

describe('nowIso', () => {
  test('is the time now as ISO 8601 text, and moves on with the clock', async () => {
    const before = Date.now()
    const first = nowIso()
    const after = Date.now()
    expect(first).toBe(new Date(Date.parse(first)).toISOString())
    expect(Date.parse(first)).toBeGreaterThanOrEqual(before)
    expect(Date.parse(first)).toBeLessThanOrEqual(after)
    await sleep(5)
    expect(Date.parse(nowIso())).toBeGreaterThan(Date.parse(first))
  })
})
