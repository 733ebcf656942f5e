// Tests that need a program from the system (redis-server, nginx, Chromium, openssl): where it is
// missing, CI fails (it installs them: .ci/run, `npm test`'s pretest), and anywhere else the file
// is skipped with one line that says what to install.
import t from 'tap'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Call at the top of a test file with what is missing (undefined: nothing), before using it. */
export function needsTools (missing: string | undefined): void {
  if (missing === undefined) return
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${missing}; CI must install it (see .ci/run)`)
  }
  t.plan(0, `skipped, ${missing}`)
  process.exit(0)
}

/** Why the Redis tests cannot run here (no redis-server on PATH), or undefined. */
export function redisMissing (): string | undefined {
  const found = (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
  return found ? undefined : 'redis-server is not installed (apt-get install -y redis-server)'
}
