import { expect, test } from 'bun:test'
import { KeyFilter } from './key-filter.ts'

const uuids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID())

test('a key filter has every key added, and few of the others at its capacity', () => {
  const filter = new KeyFilter(50_000)
  const added = uuids(50_000)
  for (const key of added) filter.add(key)
  expect(added.filter((key) => !filter.has(key))).toEqual([])
  // Keys that differ from an added one in their last character only, and keys unlike any.
  const near = added.slice(0, 20_000).map((key) => `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`)
  for (const others of [near, uuids(100_000)]) {
    const falsePositives = others.filter((key) => filter.has(key)).length
    expect(falsePositives / others.length).toBeLessThan(0.02)
  }
  expect(filter.full).toBe(false)
})

test('a key filter is full once more keys than its capacity were added; keys added again do not fill it', () => {
  const filter = new KeyFilter(1_000)
  const keys = uuids(1_000)
  for (const key of keys) filter.add(key)
  for (const key of keys) filter.add(key)
  expect(filter.full).toBe(false)
  for (const key of uuids(20)) filter.add(key)
  expect(filter.full).toBe(true)
})
