import type { Config } from '../config/options.ts'
import { ConfigError, ShopError } from '../errors.ts'

export const probeUsage = 'shop probe [ready|alive]   (asks this host\'s shop at --http-port; exit 0 when it answers 200)'

/** Not ready or not answering: the probe's exit 1. */
class ProbeFailedError extends ShopError {}

/**
 * `shop probe [ready|alive]`: GETs /readyz (default) or /healthz of the shop process on this host
 * (`--http-port`) and prints its answer; fails (exit 1) on any other status or no answer within
 * 2 s. For health checks where there is no shell and no curl: the container image holds the
 * binary alone.
 */
export async function probeCommand(args: string[], config: Config): Promise<string> {
  const [which = 'ready', ...rest] = args
  if ((which !== 'ready' && which !== 'alive') || rest.length > 0) throw new ConfigError(`usage: ${probeUsage}`)
  const url = `http://127.0.0.1:${config.httpPort}${which === 'ready' ? '/readyz' : '/healthz'}`
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
  } catch (error) {
    throw new ProbeFailedError(`${url} did not answer: ${(error as Error).message}`)
  }
  const body = (await response.text()).trim()
  if (response.status !== 200) throw new ProbeFailedError(`${url} answered ${response.status}: ${body}`)
  return body
}
