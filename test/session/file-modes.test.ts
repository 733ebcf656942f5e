// Files only the service can read, whatever the umask: the data dir 0700, the SQLite file and its
// -wal/-shm 0600, keys 0600; `check` warns about looser modes it finds.
import t from 'tap'
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createStore } from '../../src/session/create-store.js'
import { looserModes } from '../../src/session/file-modes.js'
import { loadIdentityKeys } from '../../src/identity/keys.js'
import { checkConfiguration } from '../../src/commands/check.js'
import { baseEnv, tempDir, TEST_NOW } from '../helpers/app.js'

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8)

t.test('with umask 000: the data dir, the SQLite files and a generated key are private', async (t) => {
  const previous = process.umask(0o000)
  t.teardown(() => { process.umask(previous) })
  const dataDir = join(tempDir(t), 'nested', 'data')
  const store = createStore('sqlite', { dataDir })
  t.teardown(() => store.close())
  await store.setSession('s1', { cookie: {} }, 60_000) // a write: WAL mode creates -wal and -shm
  t.equal(modeOf(dataDir), '700', 'data dir 0700')
  for (const name of ['sessions.sqlite', 'sessions.sqlite-wal', 'sessions.sqlite-shm']) {
    t.ok(existsSync(join(dataDir, name)), `${name} exists`)
    t.equal(modeOf(join(dataDir, name)), '600', `${name} 0600`)
  }
  await loadIdentityKeys({ dataDir })
  t.equal(modeOf(join(dataDir, 'identity-key.pem')), '600', 'a generated key 0600')
  t.same(looserModes(dataDir), [], 'nothing to warn about')
})

t.test('an existing data dir with loose modes is tightened when the store opens', async (t) => {
  const dataDir = tempDir(t)
  chmodSync(dataDir, 0o755)
  writeFileSync(join(dataDir, 'sessions.sqlite'), '', { mode: 0o644 })
  chmodSync(join(dataDir, 'sessions.sqlite'), 0o644)
  const store = createStore('sqlite', { dataDir })
  t.teardown(() => store.close())
  t.equal(modeOf(dataDir), '700')
  t.equal(modeOf(join(dataDir, 'sessions.sqlite')), '600')
})

t.test('check warns about looser modes, each with its fix', async (t) => {
  const dataDir = tempDir(t)
  const keyFile = join(tempDir(t), 'identity.pem')
  const { generateKeyPairSync } = await import('node:crypto')
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
  chmodSync(keyFile, 0o644)
  writeFileSync(join(dataDir, 'session-secret'), 'x'.repeat(48))
  chmodSync(join(dataDir, 'session-secret'), 0o640)
  chmodSync(dataDir, 0o750)
  const report = await checkConfiguration({ env: baseEnv({ GATEWAY_SESSION_STORE: 'memory', GATEWAY_DATA_DIR: dataDir, GATEWAY_IDENTITY_KEY: keyFile }), cwd: dataDir, now: TEST_NOW, timeoutMs: 100 })
  const warnings = report.warnings.join('\n')
  t.match(warnings, new RegExp(`GATEWAY_DATA_DIR: ${dataDir} has mode 0750; group and others can reach it. Fix: chmod 0700 ${dataDir}`))
  t.match(warnings, /GATEWAY_DATA_DIR: \S+session-secret has mode 0640[^\n]*chmod 0600/)
  t.match(warnings, new RegExp(`GATEWAY_IDENTITY_KEY: ${keyFile} has mode 0644[^\\n]*chmod 0600`))
  chmodSync(dataDir, 0o700)
  chmodSync(keyFile, 0o600)
  chmodSync(join(dataDir, 'session-secret'), 0o600)
  const clean = await checkConfiguration({ env: baseEnv({ GATEWAY_SESSION_STORE: 'memory', GATEWAY_DATA_DIR: dataDir, GATEWAY_IDENTITY_KEY: keyFile }), cwd: dataDir, now: TEST_NOW, timeoutMs: 100 })
  t.notMatch(clean.warnings.join('\n'), /has mode/, 'no warning once private')
})
