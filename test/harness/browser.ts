import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, type Page, chromium } from 'playwright-core'

/** Debian's Chromium (`scripts/setup.sh --browser`); playwright's own browsers cannot be downloaded here. */
export const chromiumPath = process.env.SHOP_TEST_CHROMIUM ?? '/usr/bin/chromium'

/** What a page did that a test asserts on: errors in its console or scripts, and every URL it requested. */
export interface PageWatch {
  errors: string[]
  requests: string[]
}

/**
 * A headless Chromium with a fresh profile, driven by playwright-core. The flags are the ones this
 * machine needs (no sandbox for root, no GPU, and no network of its own: updates, sync, QUIC).
 */
export async function openBrowser(): Promise<{ context: BrowserContext; page: Page; watch: PageWatch; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'shop-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const watch: PageWatch = { errors: [], requests: [] }
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') watch.errors.push(`console.${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => watch.errors.push(`page error: ${error.message}`))
  page.on('request', (request) => watch.requests.push(request.url()))
  return {
    context,
    page,
    watch,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
