#!/usr/bin/env bun
import pkg from '../package.json' with { type: 'json' }
import type { Shop } from './app.ts'
import { helpText, loadConfig } from './config/load.ts'
import type { Config } from './config/options.ts'
import { ConfigError, ShopError } from './errors.ts'
import { createLogger } from './log.ts'
import { runtime } from './runtime/index.ts'

/** Exit codes (also in --help). */
const EXIT = { ok: 0, stopFailed: 1, usage: 2, escalated: 70 } as const

type OneShot = (args: string[], config: Config) => Promise<string>
/**
 * Commands that do one thing against the configured bus, print one JSON line and exit. They, and the
 * Shop itself, are loaded once chosen: a start that sizes the engine's collector runs this file
 * twice (`runtime.sizeCollector`), and the first run should load no more than it needs.
 */
const oneShotCommands: Record<string, () => Promise<OneShot>> = {
  stock: async () => (await import('./cli/stock.ts')).stockCommand,
  rebuild: async () => (await import('./cli/rebuild.ts')).rebuildCommand,
  probe: async () => (await import('./cli/probe.ts')).probeCommand,
  acls: async () => (await import('./cli/acls.ts')).aclsCommand,
}

function fail(message: string, code: number): never {
  process.stderr.write(`shop: ${message}\n`)
  process.exit(code)
}

async function main(argv: string[]): Promise<void> {
  let invocation
  try {
    invocation = loadConfig(argv, process.env)
  } catch (error) {
    if (error instanceof ConfigError) fail(`${error.message}\nRun 'shop --help' for the options.`, EXIT.usage)
    throw error
  }
  if (invocation.help) {
    process.stdout.write(`${helpText(pkg.version)}\n`)
    return
  }
  if (invocation.version) {
    process.stdout.write(`shop ${pkg.version}\n`)
    return
  }
  const [command, ...args] = invocation.command
  const oneShot = oneShotCommands[command]
  if (oneShot) {
    try {
      process.stdout.write(`${await (await oneShot())(args, invocation.config)}\n`)
      process.exit(EXIT.ok)
    } catch (error) {
      if (error instanceof ConfigError) fail(error.message, EXIT.usage)
      fail(error instanceof ShopError ? error.message : String((error as Error)?.message ?? error), EXIT.stopFailed)
    }
  }
  if (command !== 'run') fail(`unknown command "${invocation.command.join(' ')}"\nRun 'shop --help' for the options.`, EXIT.usage)

  const { config } = invocation
  // First of all: on Bun this may start the process again in place, with the collector sized.
  let engine: ReturnType<typeof runtime.sizeCollector> = { bytes: undefined }
  try {
    engine = runtime.sizeCollector(config.engineRamMb * 2 ** 20)
  } catch (error) {
    fail(`start failed: cannot size the engine's collector (--engine-ram-mb): ${(error as Error)?.message ?? error}`, EXIT.stopFailed)
  }
  const [{ Shop }, { workerIdentity }] = await Promise.all([import('./app.ts'), import('./workers/pool.ts')])
  const worker = workerIdentity(process.env)
  const logger = worker ? createLogger(config.logLevel).child({ worker: worker.index }) : createLogger(config.logLevel)
  if (engine.bytes !== undefined) logger.info({ event: 'shop:engine:sized', ramBytes: engine.bytes }, `the engine collects as if the machine had ${engine.bytes / 2 ** 20} MiB`)
  if (engine.unsized) logger.warn({ event: 'shop:engine:unsized' }, `the engine's collector is not sized (--engine-ram-mb): ${engine.unsized}`)
  let shop: Shop
  try {
    shop = await Shop.start({
      config,
      logger,
      tracing: invocation.tracing,
      argv: argv,
      worker,
      onEscalate: (error) => {
        logger.fatal({ event: 'shop:escalated', err: error }, 'a supervisor gave up; exiting so the orchestrator restarts the process')
        process.exit(EXIT.escalated)
      },
    })
  } catch (error) {
    logger.fatal({ event: 'shop:start:failed', err: error }, 'start failed')
    const detail = error instanceof ShopError ? `${error.message}` : String((error as Error)?.message ?? error)
    fail(`start failed: ${detail}`, EXIT.stopFailed)
  }

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ event: 'shop:signal', signal })
    shop.stop().then(
      () => process.exit(EXIT.ok),
      (error) => {
        logger.fatal({ event: 'shop:stop:failed', err: error }, 'graceful stop failed')
        process.exit(EXIT.stopFailed)
      },
    )
  }
  // A worker stops when its supervisor says so (SIGTERM), not on the terminal's Ctrl-C, which reaches
  // the whole process group: the supervisor stops its workers itself, and would restart one that left first.
  process.on('SIGINT', () => (worker ? logger.info({ event: 'shop:signal', signal: 'SIGINT', ignored: 'a worker waits for its supervisor' }) : stop('SIGINT')))
  process.on('SIGTERM', () => stop('SIGTERM'))
  if (worker) {
    // A worker whose supervisor is gone (kill -9) stops too: its parent is then another process.
    setInterval(() => process.ppid !== worker.supervisorPid && stop('supervisor exited'), 1_000).unref()
  }
}

await main(process.argv.slice(2))
