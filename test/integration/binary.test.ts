import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testBrokers } from './broker.ts'
import { withDeadline } from '../../src/time.ts'
import { ShopProcess, repo } from './shop-process.ts'

/**
 * The compiled `shop`, run the way users run it: from a directory with no node_modules,
 * against the real broker.
 */
let dir: string
let binary: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shop-binary-'))
  binary = join(dir, 'shop')
  const build = Bun.spawnSync([process.execPath, join(repo, 'scripts/build.ts'), binary], { cwd: repo, stderr: 'pipe' })
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr}`)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the compiled shop binary', () => {
  test('starts from an empty directory on --bus=kafka, becomes ready, and exits 0 on SIGTERM', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'shop-run-'))
    const shop = await ShopProcess.spawn(
      ['--bus=kafka', `--brokers=${testBrokers.join(',')}`, '--http-port=0', `--topic-prefix=test-${randomUUID().slice(0, 8)}.`, '--partitions=3', '--session-timeout-ms=6000', '--log-level=info'],
      { command: [binary], cwd: workdir, env: { PATH: '/usr/bin:/bin' } },
    )
    try {
      await shop.ready(30_000)
      const ready = await fetch(`${shop.url}/readyz`)
      expect(await ready.json()).toEqual({ status: 'ready' })
      expect((await fetch(`${shop.url}/healthz`)).status).toBe(200)
      // The console's page, script and styles are inside the binary: nothing of them is beside it.
      for (const [path, type, part] of [['/console', 'text/html', '<title>shop console</title>'], ['/console/console.js', 'text/javascript', "new EventSource('/console/events')"], ['/console/console.css', 'text/css', ':focus-visible']]) {
        const res = await fetch(`${shop.url}${path}`)
        expect(`${path} ${res.status} ${res.headers.get('content-type')?.split(';')[0]}`).toBe(`${path} 200 ${type}`)
        expect(await res.text()).toContain(part)
      }

      shop.kill('SIGTERM')
      expect(await withDeadline(shop.exited, 15_000, 'exit after SIGTERM')).toBe(0)
      await shop.drained
      expect(shop.stderr.join('\n')).toContain('"event":"shop:stop:end"')
    } finally {
      shop.kill('SIGKILL')
      rmSync(workdir, { recursive: true, force: true })
    }
  })

  test('a bad command line exits 2 and names the problem', () => {
    const proc = Bun.spawnSync([binary, '--roles=api,bogus'], { cwd: dir, stderr: 'pipe' })
    expect(proc.exitCode).toBe(2)
    expect(proc.stderr.toString()).toContain('--roles item 2 (SHOP_ROLES): must be one of')
  })
})
