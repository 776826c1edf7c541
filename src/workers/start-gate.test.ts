import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from '../time.ts'
import { openStartGate, passStartGate } from './start-gate.ts'

const gateDir = () => join(mkdtempSync(join(tmpdir(), 'shop-gate-')), 'start-gate')

test('workers at the start gate go on together: the first waits until the last is there', async () => {
  const gate = openStartGate(gateDir(), 2)
  let firstDone = false
  const first = passStartGate(gate, 0).then((passed) => ((firstDone = true), passed))
  await sleep(150)
  expect(firstDone).toBe(false)
  const second = await passStartGate(gate, 1)
  const passed = await first
  expect([passed.arrived, second.arrived]).toEqual([2, 2])
  expect(passed.waitedMs).toBeGreaterThanOrEqual(150)
  expect(second.waitedMs).toBeLessThan(150)
})

test('a worker whose sibling never comes to the start gate goes on alone after the timeout', async () => {
  const gate = openStartGate(gateDir(), 2)
  const passed = await passStartGate(gate, 1, 200)
  expect(passed.arrived).toBe(1)
  expect(passed.waitedMs).toBeGreaterThanOrEqual(200)
})

test("a gate opened again forgets the workers of the start before, who would let this start's through at once", async () => {
  const dir = gateDir()
  openStartGate(dir, 2)
  writeFileSync(join(dir, '1'), '')
  const gate = openStartGate(dir, 2)
  expect(existsSync(join(dir, '1'))).toBe(false)
  expect((await passStartGate(gate, 0, 100)).arrived).toBe(1)
})
