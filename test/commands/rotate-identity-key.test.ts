// `saml-gateway rotate-identity-key` run as an operator runs it: a process of its own, beside a
// gateway on the same SQLite data dir, reading its settings from the .env in the working directory.
// The new key lands in the keyring the gateways share, published at once and signing after the
// grace; what the command cannot do (bad arguments, a configured key, the memory store, a broken
// configuration, a store it cannot reach) it refuses with its exit status and why.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type AddressInfo } from 'node:net'
import type { JWK } from 'jose'
import { baseEnv, buildTestApp, fixture, tempDir, TEST_NOW } from '../helpers/app.js'
import { rotateIdentityKeyCommand } from '../../src/commands/rotate-identity-key.js'
import { DEFAULT_RETAIN_MS, KEYRING_NAME, parseKeyring } from '../../src/identity/keyring.js'
import { createStore } from '../../src/session/create-store.js'
import { runCli } from './_cli.js'

// Each run compiles the TypeScript entry on the fly: slow on a busy machine.
t.setTimeout(300_000)
const MINUTE = 60_000
const USAGE = 'usage: saml-gateway rotate-identity-key [--grace 10m] [--retain 10m]\n'

/** The env the other command tests use, on SQLite in `dir`, written as the operator's .env. */
function writeDotEnv (dir: string, overrides: Record<string, string> = {}): Record<string, string | undefined> {
  const env = baseEnv({
    XC_SAML_CERT: fixture('idp.crt').replace(/-----[A-Z ]+-----|\s/g, ''), // one line, as Motion's .env has it
    GATEWAY_SESSION_STORE: 'sqlite',
    GATEWAY_DATA_DIR: dir,
    ...overrides
  })
  writeFileSync(join(dir, '.env'), Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''))
  return env
}

const run = async (cwd: string, args: string[]) => await runCli(['rotate-identity-key', ...args], { cwd })

const kidsOf = (jwks: { keys: JWK[] }) => jwks.keys.map(k => k.kid).sort()

async function readKeyring (t: { teardown: (fn: () => unknown) => void }, dataDir: string) {
  const store = createStore('sqlite', { dataDir })
  t.teardown(() => store.close())
  return parseKeyring((await store.getShared(KEYRING_NAME))!)
}

t.test('a rotation: exit 0, the two lines, and both keys in the shared keyring with the grace asked for', async (t) => {
  const dir = tempDir(t)
  writeDotEnv(dir)
  // A gateway on the data dir first: it creates the keyring the command rotates.
  const running = await buildTestApp(t, { env: { GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: dir }, now: Date.now() })
  const [oldKid] = kidsOf(running.app.gateway.identityKeys.jwks)

  const before = Date.now()
  const res = await run(dir, ['--grace', '6m'])
  const after = Date.now()
  t.equal(res.status, 0, res.stderr)
  t.equal(res.stderr, '')
  const lines = res.stdout.split('\n')
  t.equal(lines.length, 3, 'two lines, nothing retired')
  t.equal(lines[2], '')
  const NEW_LINE = /^new key (\S+): published now, signs from (\S+)$/
  const OLD_LINE = /^old key (\S+): published until (\S+)$/
  t.match(lines[0], NEW_LINE)
  t.match(lines[1], OLD_LINE)
  const [, newKid, signsFrom] = NEW_LINE.exec(lines[0]) ?? []
  const [, keptKid, publishedUntil] = OLD_LINE.exec(lines[1]) ?? []
  t.equal(keptKid, oldKid, 'the old key is the one the gateway signs with')
  t.not(newKid, oldKid)
  const activeFrom = Date.parse(signsFrom)
  t.ok(activeFrom >= before + 6 * MINUTE && activeFrom <= after + 6 * MINUTE, `signs from ${signsFrom}: 6 minutes after the call`)
  t.equal(Date.parse(publishedUntil), activeFrom + DEFAULT_RETAIN_MS, 'the old key published the default 10 minutes after the switch')

  const ring = await readKeyring(t, dir)
  t.same(ring.keys.map(k => ({ kid: k.kid, activeFrom: k.activeFrom, retireAt: k.retireAt })), [
    { kid: oldKid, activeFrom: 0, retireAt: activeFrom + DEFAULT_RETAIN_MS },
    { kid: newKid, activeFrom, retireAt: undefined }
  ], 'the keyring in the store: the old key with its retirement, the new one with its start')

  // A gateway that reads the keyring now publishes both and still signs with the old key.
  const later = await buildTestApp(t, { env: { GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: dir }, now: after })
  const jwks = (await later.app.inject({ url: '/api/auth/saml/jwks.json' })).json() as { keys: JWK[] }
  t.equal(jwks.keys.length, 2)
  t.same(kidsOf(jwks), [oldKid, newKid].sort(), '/jwks.json publishes both keys')
  t.equal(later.app.gateway.identityKeys.kid, oldKid, 'the old key signs until the grace ends')
})

t.test('refused: bad arguments 64, a configured identity key 64, the memory store 64, a broken configuration 78', async (t) => {
  const dir = tempDir(t)
  writeDotEnv(dir)
  const noValue = await run(dir, ['--grace'])
  t.equal(noValue.status, 64)
  t.equal(noValue.stderr, `saml-gateway rotate-identity-key: unexpected "--grace"\n${USAGE}`)
  const notDuration = await run(dir, ['--retain', 'soon'])
  t.equal(notDuration.status, 64)
  t.equal(notDuration.stderr, `saml-gateway rotate-identity-key: --retain must be a duration like 180, 180s, 30m or 8h (got "soon")\n${USAGE}`)

  writeDotEnv(dir, { GATEWAY_IDENTITY_SECRET: 's'.repeat(40) })
  const secret = await run(dir, [])
  t.equal(secret.status, 64)
  t.match(secret.stderr, /^saml-gateway rotate-identity-key: the identity key is configured \(GATEWAY_IDENTITY_KEY or GATEWAY_IDENTITY_SECRET\); rotate it there: /)

  writeDotEnv(dir, { GATEWAY_SESSION_STORE: 'memory' })
  const memory = await run(dir, [])
  t.equal(memory.status, 64)
  t.equal(memory.stderr, 'saml-gateway rotate-identity-key: the memory store lives inside each gateway process; nothing to rotate from outside\n')

  writeDotEnv(dir, { DOMAIN: 'https://motion.example.com' })
  const broken = await run(dir, [])
  t.equal(broken.status, 78)
  t.match(broken.stderr, /^saml-gateway: Invalid configuration \(1 problem\):\n {2}- DOMAIN must be a host name, not a URL/)
  for (const res of [noValue, notDuration, secret, memory, broken]) t.equal(res.stdout, '')
})

t.test('the command on a fixed clock: exact times, a rotation under way refused, a spent key retired', async (t) => {
  const dir = tempDir(t)
  const env = writeDotEnv(dir)
  await buildTestApp(t, { env: { GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: dir } })
  const rotate = async (at: number, argv: string[]) => {
    let out = ''
    let err = ''
    const code = await rotateIdentityKeyCommand(argv, { env, cwd: dir, now: at, clock: () => at, out: s => { out += s }, err: s => { err += s } })
    return { code, out, err }
  }
  const iso = (ms: number) => new Date(ms).toISOString()

  const first = await rotate(TEST_NOW, ['--grace', '6m', '--retain', '20m'])
  t.equal(first.code, 0, first.err)
  const [firstKid, secondKid] = (await readKeyring(t, dir)).keys.map(k => k.kid)
  t.equal(first.out, `new key ${secondKid}: published now, signs from ${iso(TEST_NOW + 6 * MINUTE)}\n` +
    `old key ${firstKid}: published until ${iso(TEST_NOW + 26 * MINUTE)}\n`)

  const early = await rotate(TEST_NOW + 5 * MINUTE, [])
  t.equal(early.code, 1, 'before the switch')
  t.equal(early.err, `saml-gateway rotate-identity-key: a rotation is under way: key ${secondKid} signs from ${iso(TEST_NOW + 6 * MINUTE)}\n`)

  const tooShort = await rotate(TEST_NOW + 7 * MINUTE, ['--grace', '5m'])
  t.equal(tooShort.code, 1)
  t.match(tooShort.err, /the grace period must be at least 330 s/)

  const spent = TEST_NOW + 26 * MINUTE
  const second = await rotate(spent, [])
  t.equal(second.code, 0, second.err)
  const ring = (await readKeyring(t, dir)).keys
  t.equal(ring.length, 2)
  t.equal(ring[0].kid, secondKid)
  t.notOk(ring.some(k => k.kid === firstKid), 'the first key is gone from the store')
  t.equal(second.out, `new key ${ring[1].kid}: published now, signs from ${iso(spent + 10 * MINUTE)}\n` +
    `old key ${secondKid}: published until ${iso(spent + 20 * MINUTE)}\n` +
    `retired: ${firstKid}\n`)
})

t.test('a store it cannot reach: 69 (EX_UNAVAILABLE) and one line saying why', async (t) => {
  const dir = tempDir(t)
  const closed = await closedPort()
  writeDotEnv(dir, { GATEWAY_SESSION_STORE: 'redis', GATEWAY_REDIS_URL: `redis://127.0.0.1:${closed}` })
  const redis = await run(dir, [])
  t.equal(redis.status, 69, redis.stderr)
  t.match(redis.stderr, /^saml-gateway rotate-identity-key: GATEWAY_REDIS_URL: the redis session store is unreachable \(.+\)\. Fix: start Redis or correct the URL\n$/)

  const file = join(dir, 'not-a-dir')
  writeFileSync(file, '')
  writeDotEnv(dir, { GATEWAY_DATA_DIR: join(file, 'data') })
  const sqlite = await run(dir, [])
  t.equal(sqlite.status, 69, sqlite.stderr)
  t.match(sqlite.stderr, /^saml-gateway rotate-identity-key: GATEWAY_DATA_DIR: the sqlite session store is unreachable \(.+\)\. Fix: make the directory writable by the gateway user\n$/)
  for (const res of [redis, sqlite]) t.equal(res.stdout, '')
})

/** A port nothing listens on. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
