// The cookie-signing secret: GATEWAY_SESSION_SECRET, or one generated once into the data dir so
// that sessions survive a restart and every gateway sharing the dir agrees on it.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const SESSION_SECRET_FILE = 'session-secret'

export function loadOrCreateSessionSecret (dataDir: string, configured?: string): string {
  if (configured !== undefined) return configured
  const file = join(dataDir, SESSION_SECRET_FILE)
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const secret = randomBytes(48).toString('base64url')
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' })
    return secret
  } catch (err) {
    // Another instance won the race: use its secret.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim()
    throw err
  }
}
