/**
 * Builds the single `shop` binary: `bun run build` writes ./shop (or the path given as argument).
 *
 * @platformatic/wasm-utils reads ../dist/native.wasm from disk at import time, which a compiled
 * binary does not carry (ENOENT under /$bunfs). The package also ships `./bundled`, the same code
 * with the wasm inlined; this build resolves the package to that entry.
 */
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const require = createRequire(import.meta.url)
const outfile = resolve(process.argv[2] ?? 'shop')

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
