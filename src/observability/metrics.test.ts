import { expect, test } from 'bun:test'
import { Metrics } from './metrics.ts'

test("a scrape serves the process's standard figures, but not the heap's spaces, which Bun measures by walking the heap", async () => {
  const text = await new Metrics().text()
  const names = new Set(text.split('\n').filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]))
  for (const standard of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    expect(names.has(standard)).toBe(true)
  }
  expect([...names].filter((name) => name.startsWith('nodejs_heap_space_'))).toEqual([])
})
