// Debian's Chromium, driven by playwright-core (which never downloads a browser of its own).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { NGINX } from './_nginx.js'

export const CHROMIUM = '/usr/bin/chromium'
export const INSTALL_HINT = 'apt-get install -y chromium nginx openssl'

/** What this machine lacks for the browser tests, as one message; undefined when nothing. */
export function missingTools (): string | undefined {
  const missing = [CHROMIUM, NGINX].filter((file) => !existsSync(file))
  if (spawnSync('openssl', ['version']).status !== 0) missing.push('openssl')
  return missing.length === 0 ? undefined : `not installed: ${missing.join(', ')}. Install with: ${INSTALL_HINT}`
}

// As root on a closed network: no sandbox, no GPU, and none of Chromium's own background traffic
// (which this machine refuses). Playwright adds a new, empty --user-data-dir itself.
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // The test's own self-signed certificate for 127.0.0.1.
  '--ignore-certificate-errors'
]

export function launchChromium (): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
}

export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))

/** The page as a person sees it, for looking at after the run: test-results/screenshots/<name>.png. */
export async function screenshot (page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const file = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}
