import { describe, expect, test } from 'bun:test'
import { Coalescer, chunked } from './coalescer.ts'
import { sleep } from '../time.ts'

/** A request that records what it was given and answers once `release` is called. */
function controlled() {
  const requests: number[][] = []
  const pending: Array<() => void> = []
  const request = (items: number[]) => {
    requests.push(items)
    return new Promise<string[]>((resolve) => pending.push(() => resolve(items.map((i) => `r${i}`))))
  }
  const release = async () => {
    await sleep(0)
    pending.shift()?.()
    await sleep(0)
  }
  return { requests, request, release }
}

describe('Coalescer', () => {
  test('an idle call goes at once; calls made while it is in flight leave together, each getting its own results', async () => {
    const c = controlled()
    const coalescer = new Coalescer(c.request, () => 1, 100)
    const first = coalescer.submit([1])
    const second = coalescer.submit([2, 3])
    const third = coalescer.submit([4])
    expect(c.requests).toEqual([[1]])
    await c.release()
    expect(c.requests).toEqual([[1], [2, 3, 4]])
    await c.release()
    expect(await Promise.all([first, second, third])).toEqual([['r1'], ['r2', 'r3'], ['r4']])
  })

  test('a request carries at most maxWeight; a large call is split over several requests, in order', async () => {
    const c = controlled()
    const coalescer = new Coalescer(c.request, () => 1, 3)
    const calls = [coalescer.submit([0]), coalescer.submit([1, 2]), coalescer.submit([3, 4, 5, 6, 7]), coalescer.submit([8])]
    for (let i = 0; i < 4; i++) await c.release()
    expect(c.requests).toEqual([[0], [1, 2, 3], [4, 5, 6], [7, 8]])
    expect(await Promise.all(calls)).toEqual([['r0'], ['r1', 'r2'], ['r3', 'r4', 'r5', 'r6', 'r7'], ['r8']])
  })

  test('chunked splits by weight, an overweight item alone', () => {
    expect(chunked([1, 2, 3, 9, 1, 1], (n) => n, 5)).toEqual([[1, 2], [3], [9], [1, 1]])
    expect(chunked([], (n: number) => n, 5)).toEqual([])
  })

  test("a failed request rejects the calls it carried, and only those", async () => {
    let n = 0
    const coalescer = new Coalescer(
      async (items: number[]) => {
        await sleep(1)
        if (n++ === 1) throw new Error('broker said no')
        return items
      },
      () => 1,
      10,
    )
    const settled = await Promise.allSettled([coalescer.submit([1]), coalescer.submit([2]), coalescer.submit([3])])
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([[1], 'broker said no', 'broker said no'])
    expect(await coalescer.submit([4])).toEqual([4])
  })
})
