#!/usr/bin/env bun
/**
 * `bun bench/micro/bounded-map.ts`: µs per set of a key into a collection that keeps the newest
 * `capacity` keys, forgetting the oldest by a Map's iterator (`map.keys().next()`) and by
 * BoundedMap, beside a set into a plain Map that forgets nothing. Figures quoted in src/bounded-map.ts.
 */
import { BoundedMap } from '../../src/bounded-map.ts'

const sets = 300_000
const keys = Array.from({ length: sets }, (_, i) => `order-${i}`)

function timed(name: string, capacity: number, run: () => void): void {
  const started = performance.now()
  run()
  console.log(`${name.padEnd(22)} capacity ${String(capacity).padStart(7)}: ${(((performance.now() - started) * 1000) / sets).toFixed(3)} µs a set`)
}

for (const capacity of [50, 1_000, 10_000, 100_000]) {
  const warm = Array.from({ length: capacity }, (_, i) => `warm-${i}`)
  timed('Map, forget by keys()', capacity, () => {
    const map = new Map<string, number>()
    for (const key of warm) map.set(key, 0)
    for (let i = 0; i < sets; i++) {
      map.set(keys[i]!, i)
      if (map.size > capacity) map.delete(map.keys().next().value!)
    }
  })
  timed('BoundedMap', capacity, () => {
    const map = new BoundedMap<string, number>(capacity)
    for (const key of warm) map.set(key, 0)
    for (let i = 0; i < sets; i++) map.set(keys[i]!, i)
  })
  timed('Map, never forgets', capacity, () => {
    const map = new Map<string, number>()
    for (let i = 0; i < sets; i++) map.set(keys[i]!, i)
  })
}
