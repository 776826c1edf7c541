/**
 * Builds the single `shop` binary: `bun run build` writes ./shop (or the path given as argument).
 *
 * @platformatic/wasm-utils reads ../dist/native.wasm from disk at import time, which a compiled
 * binary does not carry (ENOENT under /$bunfs). The package also ships `./bundled`, the same code
 * with the wasm inlined; this build resolves the package to that entry.
 *
 * The program's bytecode is compiled at build time and carried in the binary (`bytecode`, which for
 * ESM needs `compile`): an `order,inventory` process answered /readyz 287 to 337 ms after its start
 * against 476 to 568 ms, at 0.40 to 0.43 s of CPU in its first 5 s against 0.63 to 0.79, for a binary
 * of 124 MB against 115 and 2 to 4 MB more RSS (docs/performance.md, "Start-up").
 *
 * It refuses to build from an unpatched @platformatic/kafka: `npm ci` applies patches/ (postinstall),
 * and a binary without the read_committed fix would deliver aborted records.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'

const require = createRequire(import.meta.url)
const outfile = resolve(process.argv[2] ?? 'shop')

const consumerJs = join(dirname(require.resolve('@platformatic/kafka')), 'clients/consumer/consumer.js')
if (!readFileSync(consumerJs, 'utf8').includes('/* shop: read_committed filter patched */')) {
  console.error(`build: ${consumerJs} is not patched; install with npm ci (its postinstall runs patch-package)`)
  process.exit(1)
}

const wasmInlined: import('bun').BunPlugin = {
  name: 'platformatic-wasm-inlined',
  setup(build) {
    build.onResolve({ filter: /^@platformatic\/wasm-utils$/ }, () => ({
      path: require.resolve('@platformatic/wasm-utils/bundled'),
    }))
  },
}

const result = await Bun.build({
  entrypoints: [resolve(import.meta.dir, '../src/main.ts')],
  compile: { outfile },
  bytecode: true,
  format: 'esm',
  minify: { syntax: true, whitespace: true },
  sourcemap: 'linked',
  target: 'bun',
  plugins: [wasmInlined],
})
if (!result.success) {
  for (const log of result.logs) console.error(log)
  process.exit(1)
}
console.log(`built ${outfile}`)
