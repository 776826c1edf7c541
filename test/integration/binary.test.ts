import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { testBrokers } from './broker.ts'

/**
 * The compiled `shop`, run the way users run it: from a directory with no node_modules,
 * against the real broker.
 */
const repo = resolve(import.meta.dir, '../..')
let dir: string
let binary: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shop-binary-'))
  binary = join(dir, 'shop')
  const build = Bun.spawnSync([process.execPath, join(repo, 'scripts/build.ts'), binary], { cwd: repo, stderr: 'pipe' })
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr}`)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Reads stderr JSON log lines until one matches, leaving the rest of the stream to read later. */
async function waitForLog(lines: AsyncGenerator<string>, match: (entry: Record<string, unknown>) => boolean) {
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    try {
      const entry = JSON.parse(next.value)
      if (match(entry)) return entry
    } catch {}
  }
  throw new Error('process ended before the expected log line')
}

async function* linesOf(stream: ReadableStream<Uint8Array>, sink: string[]) {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk)
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      sink.push(line)
      yield line
    }
  }
}

async function readyWithin(url: string, ms: number): Promise<{ status: number; body: string }> {
  const until = Date.now() + ms
  let last = { status: 0, body: '' }
  while (Date.now() < until) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined)
    if (res) last = { status: res.status, body: await res.text() }
    if (last.status === 200) return last
    await Bun.sleep(200)
  }
  return last
}

describe('the compiled shop binary', () => {
  test('starts from an empty directory on --bus=kafka, becomes ready, and exits 0 on SIGTERM', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'shop-run-'))
    const log: string[] = []
    const proc = Bun.spawn(
      [binary, '--bus=kafka', `--brokers=${testBrokers.join(',')}`, '--http-port=0', `--topic-prefix=test-${randomUUID().slice(0, 8)}.`, '--partitions=3', '--session-timeout-ms=6000', '--log-level=info'],
      { cwd: workdir, env: { PATH: '/usr/bin:/bin' }, stdout: 'pipe', stderr: 'pipe' },
    )
    try {
      const lines = linesOf(proc.stderr, log)
      const started = await waitForLog(lines, (e) => e.event === 'shop:start')
      const url = started.url as string
      const ready = await readyWithin(url, 30_000)
      expect(ready).toEqual({ status: 200, body: JSON.stringify({ status: 'ready' }) })
      const health = await fetch(`${url}/healthz`)
      expect(health.status).toBe(200)

      proc.kill('SIGTERM')
      const code = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => 'still running')])
      expect(code).toBe(0)
      for await (const _ of lines); // the rest of stderr
      expect(log.join('\n')).toContain('"event":"shop:stop:end"')
    } finally {
      proc.kill('SIGKILL')
      rmSync(workdir, { recursive: true, force: true })
    }
  })

  test('a bad command line exits 2 and names the problem', () => {
    const proc = Bun.spawnSync([binary, '--roles=api,warehouse'], { cwd: dir, stderr: 'pipe' })
    expect(proc.exitCode).toBe(2)
    expect(proc.stderr.toString()).toContain('--roles item 2 (SHOP_ROLES): must be one of')
  })
})
