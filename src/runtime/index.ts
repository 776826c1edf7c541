import type { Runtime } from './types.ts'

export type * from './types.ts'

/**
 * The runtime this process runs on. Each implementation is loaded only where it runs: `bun.ts`
 * imports `bun:sqlite`, which Deno cannot resolve, and `deno.ts` uses the `Deno` global.
 */
export const runtime: Runtime = 'Bun' in globalThis ? (await import('./bun.ts')).bun : (await import('./deno.ts')).deno
