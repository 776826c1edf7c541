import { describe, expect, test } from 'bun:test'
import { BoundedMap } from './bounded-map.ts'

describe('BoundedMap', () => {
  test('keeps the newest keys by first set, and hands back each one it forgets', () => {
    const map = new BoundedMap<string, number>(3)
    expect([map.set('a', 1), map.set('b', 2), map.set('c', 3)]).toEqual([undefined, undefined, undefined])
    // Setting a kept key again changes its value, not its place: 'a' is still the oldest.
    expect(map.set('a', 10)).toBeUndefined()
    expect(map.set('d', 4)).toEqual(['a', 10])
    expect(map.set('e', 5)).toEqual(['b', 2])
    expect(map.has('a')).toBe(false)
    expect(map.get('b')).toBeUndefined()
    expect([map.get('c'), map.get('d'), map.get('e')]).toEqual([3, 4, 5])
    expect(map.size).toBe(3)
    expect([...map.values()]).toEqual([3, 4, 5])
  })

  test('forgets in order over many turns of its ring', () => {
    const map = new BoundedMap<number, number>(7)
    const forgotten: number[] = []
    for (let i = 0; i < 100; i++) {
      const out = map.set(i, i * 2)
      if (out) forgotten.push(out[0])
      if (i % 5 === 0) map.set(i, -i) // a set again of a kept key moves nothing
    }
    expect(forgotten).toEqual(Array.from({ length: 93 }, (_, i) => i))
    expect([...map.values()]).toEqual([93, 94, 95, 96, 97, 98, 99].map((i) => (i % 5 === 0 ? -i : i * 2)))
  })

  test('refuses a capacity that holds nothing', () => {
    expect(() => new BoundedMap(0)).toThrow('a BoundedMap holds at least 1 key, not 0')
    expect(() => new BoundedMap(1.5)).toThrow(RangeError)
  })
})
