import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { which } from './run.js'
import { ROOT } from './swarm.js'

/** Where a test run leaves its screenshots for a person to look at (gitignored). */
export const SCREENSHOT_DIR = join(ROOT, 'test', 'faults', 'screenshots')

/**
 * Debian's chromium driven by playwright-core (no browser download). Absent: the test is skipped
 * on a developer's machine and fails under CI (`CI=true`), where .ci/run installs it.
 */
export async function launchChromium(ctx: Mocha.Context): Promise<Browser | undefined> {
  const path = process.env.CHROMIUM_PATH ?? (await which('chromium'))
  if (path === undefined) {
    const msg = 'chromium not found (apt-get install chromium)'
    if (process.env.CI === 'true') throw new Error(`${msg}; CI=true: a missing browser is a failure`)
    console.log(`      skipping: ${msg}`)
    ctx.skip()
  }
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
  return chromium.launch({ executablePath: path, args: ['--no-sandbox'], headless: true })
}
