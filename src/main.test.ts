import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { eventually } from '../test/harness/eventually.ts'
import { ShopProcess } from '../test/harness/shop-process.ts'
import { runtime } from './runtime/index.ts'

const main = resolve(import.meta.dirname, 'main.ts')

/** Runs `shop args` on this runtime with a clean environment (HOME: Deno keeps its cache there). */
async function run(args: string[], env: Record<string, string> = {}) {
  const proc = runtime.spawn([...runtime.scriptCommand(main), ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } })
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code, stdout, stderr }
}

describe('shop command line', () => {
  test.each([
    [['--roles=api,bogus'], /--roles item 2.*"bogus"/],
    [['--http-port=-1'], /--http-port/],
    [['--bus=kafka'], /--brokers: required with --bus=kafka/],
    [['--nope'], /Unknown option '--nope'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['--workers=2'], /--workers \(SHOP_WORKERS\): needs --bus=kafka: the in-memory bus lives in one process/],
    [['--workers=2', '--brokers=127.0.0.1:1', '--roles=api,registry'], /--workers \(SHOP_WORKERS\): needs a role that consumes/],
    [['--workers=65', '--brokers=127.0.0.1:1'], /--workers \(SHOP_WORKERS\)/],
  ])('%p exits 2 with one clear message', async (args, message) => {
    const { code, stderr, stdout } = await run(args)
    expect(code).toBe(2)
    expect(stderr).toMatch(/^shop: /)
    expect(stderr).toMatch(message)
    expect(stdout).toBe('')
  })

  test('--help documents every flag with its environment variable; --version prints the version', async () => {
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    for (const flag of ['--roles', '--bus', '--brokers', '--http-port', '--data-dir', '--profile', '--partitions', '--shutdown-timeout-ms']) {
      expect(help.stdout).toContain(flag)
    }
    expect(help.stdout).toContain('SHOP_HTTP_PORT')
    const version = await run(['--version'])
    expect(version.stdout).toMatch(/^shop \d+\.\d+\.\d+/)
  })
})

test("README's configuration reference names every option and its environment variable", async () => {
  const { optionSpecs } = await import('./config/options.ts')
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8')
  for (const spec of optionSpecs) {
    expect(readme).toContain(`\`--${spec.flag}\` | \`${spec.env}\``)
  }
})

test('an unusable --data-dir stops the start at once with exit 1 and a message naming the path', async () => {
  const { code, stderr } = await run(['--brokers=127.0.0.1:1', '--roles=inventory', '--data-dir=/proc/shop-cannot-write-here', '--log-level=silent'])
  expect(code).toBe(1)
  expect(stderr).toContain('--data-dir /proc/shop-cannot-write-here is not usable')
})

test('a --data-dir held by another live process stops the start with exit 1 and a message naming it; one left by a process that is gone is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shop-owned-'))
  // This test's own process stands for a live shop holding the directory.
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`)
  const held = await run(['--brokers=127.0.0.1:1', '--roles=inventory', `--data-dir=${dir}`, '--log-level=silent'])
  expect(held.code).toBe(1)
  expect(held.stderr).toContain(`--data-dir ${dir} is in use by process ${process.pid}`)
  // A pid that no live process has: the start goes on to the broker (unreachable here), and the directory is its.
  const finished = runtime.spawn(['true'])
  await finished.exited
  writeFileSync(join(dir, 'owner.pid'), `${finished.pid}\n`)
  const proc = runtime.spawn([...runtime.scriptCommand(main), '--brokers=127.0.0.1:1', '--roles=inventory', `--data-dir=${dir}`, '--log-level=silent'])
  await eventually(() => expect(readFileSync(join(dir, 'owner.pid'), 'utf8')).toBe(`${proc.pid}\n`), 10_000)
  proc.kill('SIGKILL')
  await proc.exited
})

test('shop probe: exit 0 with the answer when the shop at --http-port is ready or alive; exit 1 when it does not answer; 2 for a bad argument', async () => {
  const { Shop } = await import('./app.ts')
  const { loadConfig } = await import('./config/load.ts')
  const { createLogger } = await import('./log.ts')
  const shop = await Shop.start({ config: loadConfig(['--roles=api', '--http-port=0'], {}).config, logger: createLogger('silent'), onEscalate: () => {} })
  // Spawned without blocking: the shop it asks answers from this process's event loop.
  const probe = (...args: string[]) => run(['probe', ...args])
  const port = new URL(shop.url).port
  try {
    expect(await probe(`--http-port=${port}`)).toEqual({ code: 0, stdout: '{"status":"ready"}\n', stderr: '' })
    expect(await probe('alive', `--http-port=${port}`)).toEqual({ code: 0, stdout: '{"status":"alive"}\n', stderr: '' })
    expect(await probe('sideways', `--http-port=${port}`)).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: shop probe') })
  } finally {
    await shop.stop()
  }
  const closed = await probe(`--http-port=${port}`)
  expect(closed).toMatchObject({ code: 1, stderr: expect.stringMatching(/^shop: http:\/\/127\.0\.0\.1:\d+\/readyz did not answer/) })
})

describe("--engine-ram-mb sizes the engine's collector at start", () => {
  const fourGiB = 2 ** 32
  /** Starts an api-only shop on the memory bus and returns what its start said of the engine, then stops it. */
  async function engineAt(args: string[], env: Record<string, string> = {}) {
    return (await engineStart(args, env)).sized
  }

  /** As engineAt, with every line the start logged of the engine. */
  async function engineStart(args: string[], env: Record<string, string> = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'shop-engine-'))
    const shop = await ShopProcess.spawn(['--roles=api', '--http-port=0', '--log-level=info', `--data-dir=${dataDir}`, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    })
    // Ready: its signal handlers are in place, so SIGTERM is a clean stop.
    await shop.ready()
    shop.kill('SIGTERM')
    expect(await shop.exited).toBe(0)
    const lines = shop.stderr.map((line) => JSON.parse(line) as Record<string, unknown>)
    const sized = lines.filter((entry) => entry.event === 'shop:engine:sized')
    // Started again in place: the process the test spawned is the one that ran.
    expect(lines.find((entry) => entry.event === 'shop:start')?.pid).toBe(shop.proc.pid)
    expect(sized.length).toBeLessThanOrEqual(1)
    if (sized[0]) expect(sized[0].pid).toBe(shop.proc.pid)
    return { sized: sized[0]?.ramBytes, unsized: lines.filter((entry) => entry.event === 'shop:engine:unsized') }
  }

  test("on Bun the process starts again in place with the size; a size already in the environment is kept; 0 (the memory bus's default) and Deno leave it to the engine", async () => {
    const onBun = runtime.name === 'bun'
    const machine = onBun ? process.constrainedMemory() : 0
    expect(await engineAt(['--engine-ram-mb=1024'])).toBe(onBun ? 2 ** 30 : undefined)
    // The kafka bus's default (the memory bus's is 0), unless this machine (or its container) has no more than 4 GiB.
    expect(await engineAt(['--engine-ram-mb=4096'])).toBe(onBun && machine > fourGiB ? fourGiB : undefined)
    expect(await engineAt(['--engine-ram-mb=1024'], { BUN_JSC_forceRAMSize: String(2 ** 29) })).toBe(onBun ? 2 ** 29 : undefined)
    expect(await engineAt(['--engine-ram-mb=0'])).toBeUndefined()
    expect(await engineAt([])).toBeUndefined()
  }, 60_000)

  // Bun's CPU profiler samples with signals, and one arriving across the re-exec killed 7 of 60 such starts (SIGPWR).
  test.if(runtime.name === 'bun')("under Bun's CPU profiler the process does not start again: it warns, naming the variable that sizes it, and runs", async () => {
    const profiles = mkdtempSync(join(tmpdir(), 'shop-profile-'))
    const profiled = { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles}` }
    const { sized, unsized } = await engineStart(['--engine-ram-mb=1024'], profiled)
    expect(sized).toBeUndefined()
    expect(unsized).toHaveLength(1)
    expect(unsized[0]!.msg).toContain(`BUN_JSC_forceRAMSize=${2 ** 30}`)
    // The size given in the environment holds, profiler or not.
    expect(await engineStart(['--engine-ram-mb=1024'], { ...profiled, BUN_JSC_forceRAMSize: String(2 ** 30) })).toEqual({ sized: 2 ** 30, unsized: [] })
    // The process ran under the profiler: it wrote its profiles when it stopped.
    expect(readdirSync(profiles).filter((file) => file.endsWith('.cpuprofile'))).toHaveLength(2)
  }, 60_000)

  test('a size that is not a whole number of MiB exits 2 with one clear message', async () => {
    const { code, stderr } = await run(['--engine-ram-mb=lots'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^shop: .*--engine-ram-mb/)
  })
})
