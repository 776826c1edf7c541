#!/usr/bin/env bun
import pkg from '../package.json' with { type: 'json' }
import { Shop } from './app.ts'
import { helpText, loadConfig } from './config/load.ts'
import { aclsCommand } from './cli/acls.ts'
import { rebuildCommand } from './cli/rebuild.ts'
import { probeCommand } from './cli/probe.ts'
import { stockCommand } from './cli/stock.ts'
import type { Config } from './config/options.ts'
import { ConfigError, ShopError } from './errors.ts'
import { createLogger } from './log.ts'
import { workerIdentity } from './workers/pool.ts'

/** Exit codes (also in --help). */
const EXIT = { ok: 0, stopFailed: 1, usage: 2, escalated: 70 } as const

/** Commands that do one thing against the configured bus, print one JSON line and exit. */
const oneShotCommands: Record<string, (args: string[], config: Config) => Promise<string>> = { stock: stockCommand, rebuild: rebuildCommand, probe: probeCommand, acls: aclsCommand }

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
      process.stdout.write(`${await oneShot(args, invocation.config)}\n`)
      process.exit(EXIT.ok)
    } catch (error) {
      if (error instanceof ConfigError) fail(error.message, EXIT.usage)
      fail(error instanceof ShopError ? error.message : String((error as Error)?.message ?? error), EXIT.stopFailed)
    }
  }
  if (command !== 'run') fail(`unknown command "${invocation.command.join(' ')}"\nRun 'shop --help' for the options.`, EXIT.usage)

  const { config } = invocation
  const worker = workerIdentity(process.env)
  const logger = worker ? createLogger(config.logLevel).child({ worker: worker.index }) : createLogger(config.logLevel)
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
