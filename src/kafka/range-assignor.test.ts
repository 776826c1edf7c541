import { describe, expect, test } from 'bun:test'
import { rangeAssign } from './range-assignor.ts'

const partitionsOf = (tps: { topic: string; partition: number }[], topic: string) =>
  tps.filter((tp) => tp.topic === topic).map((tp) => tp.partition)

describe('rangeAssign', () => {
  test('co-partitioned topics give partition p of each to the same member', () => {
    const members = ['m-c', 'm-a', 'm-b'].map((id) => ({ id, topics: ['orders', 'results'] }))
    const result = rangeAssign(members, new Map([['orders', 7], ['results', 7]]))
    const seen = new Set<number>()
    for (const tps of result.values()) {
      expect(partitionsOf(tps, 'orders')).toEqual(partitionsOf(tps, 'results'))
      for (const p of partitionsOf(tps, 'orders')) seen.add(p)
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  test('ranges are contiguous, by sorted member id, the first ones taking the remainder', () => {
    const members = ['b', 'a', 'c'].map((id) => ({ id, topics: ['t'] }))
    const result = rangeAssign(members, new Map([['t', 8]]))
    expect(partitionsOf(result.get('a')!, 't')).toEqual([0, 1, 2])
    expect(partitionsOf(result.get('b')!, 't')).toEqual([3, 4, 5])
    expect(partitionsOf(result.get('c')!, 't')).toEqual([6, 7])
  })

  test('a member gets only the topics it subscribes to', () => {
    const result = rangeAssign(
      [{ id: 'a', topics: ['x'] }, { id: 'b', topics: ['x', 'y'] }],
      new Map([['x', 2], ['y', 2]]),
    )
    expect(result.get('a')).toEqual([{ topic: 'x', partition: 0 }])
    expect(result.get('b')).toEqual([{ topic: 'x', partition: 1 }, { topic: 'y', partition: 0 }, { topic: 'y', partition: 1 }])
  })
})
