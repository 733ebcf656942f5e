// `saml-gateway sessions list|revoke` on the stores several gateways share (SQLite, Redis): two
// instances on one store, two people signed in; the operator lists them and revokes one, who is
// then out of both instances at the next request, and the upstream is told (signed).
import t, { type Test } from 'tap'
import { buildTestApp, baseEnv, tempDir, TEST_NOW, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'
import { startUpstreams, type StubUpstream } from '../helpers/upstream.js'
import { entraClaims } from '../helpers/idp.js'
import { loginThroughIdp, newBrowser, send, type Browser } from '../helpers/login.js'
import { sessionsCommand } from '../../src/commands/sessions.js'
import { hashSessionId } from '../../src/identity/mint.js'
import { runCli } from './_cli.js'

// Logins on two stores and one run of the command line: more than the default on a busy machine.
t.setTimeout(300_000)
const redis = await startRedis()
t.teardown(() => redis.stop())
const ISSUER = 'https://motion.example.com/api/auth/saml'
const ALICE = 'alice@contoso.com'
const BOB = 'Bob.Agent@contoso.com'

interface Fixture { env: Record<string, string | undefined>, a: TestApp, b: TestApp, alice: Browser, bob: Browser, logout: StubUpstream, run: (argv: string[]) => Promise<{ code: number, out: string, err: string }> }

async function signedIn (t: Test, store: 'sqlite' | 'redis'): Promise<Fixture> {
  let a: TestApp | undefined
  const { upstream: login, logouts: logout } = await startUpstreams(t, { issuer: ISSUER, jwks: () => a!.app.gateway.identityKeys.jwks, now: () => TEST_NOW })
  if (store === 'redis') await (await connected(redis.url)).flushall()
  const env = {
    GATEWAY_SESSION_STORE: store,
    GATEWAY_REDIS_URL: store === 'redis' ? redis.url : undefined,
    GATEWAY_DATA_DIR: tempDir(t), // one SQLite file for both instances, as on one machine
    GATEWAY_UPSTREAM_LOGIN_URL: login.url,
    GATEWAY_UPSTREAM_LOGOUT_URL: logout.url
  }
  a = await buildTestApp(t, { env })
  const b = await buildTestApp(t, { env })
  const [alice, bob] = [newBrowser(), newBrowser()]
  t.equal((await loginThroughIdp(a.app, alice, { nameIdXml: ALICE, sessionIndex: '_alice-1' })).acs.statusCode, 302)
  t.equal((await loginThroughIdp(b.app, bob, { nameIdXml: 'bob-persistent-id', attributes: entraClaims(BOB), sessionIndex: '_bob-1' })).acs.statusCode, 302)
  const run = async (argv: string[]) => {
    let out = ''
    let err = ''
    const code = await sessionsCommand(argv, { env: baseEnv(env), cwd: env.GATEWAY_DATA_DIR, clock: () => TEST_NOW, out: s => { out += s }, err: s => { err += s } })
    return { code, out, err }
  }
  return { env, a, b, alice, bob, logout, run }
}

const connections: Array<{ quit: () => Promise<unknown> }> = []
t.teardown(() => Promise.all(connections.map(c => c.quit())))
async function connected (url: string) {
  const { Redis } = await import('ioredis')
  const client = new Redis(url)
  connections.push(client)
  return client
}

const live = async (app: TestApp, browser: Browser) => (await send(app.app, browser, { url: '/api/auth/saml/session', headers: { accept: 'application/json' } })).statusCode

for (const store of ['sqlite', 'redis'] as const) {
  t.test(`${store}: sessions list — every session, by email (any case), by NameID, as JSON`, async (t) => {
    const { run } = await signedIn(t, store)
    const all = await run(['list'])
    t.equal(all.code, 0, all.err)
    t.match(all.out, /SID \(HASH\)\s+NAMEID\s+EMAIL\s+SIGNED IN\s+EXPIRES/)
    t.match(all.out, new RegExp(`${ALICE}[\\s\\S]*bob-persistent-id\\s+${BOB}`))
    t.match(all.out, /2 session\(s\)\n$/)
    const byEmail = await run(['list', '--email', BOB.toUpperCase()])
    t.match(byEmail.out, /bob-persistent-id/)
    t.notMatch(byEmail.out, /alice/)
    const byNameId = await run(['list', '--nameid', ALICE, '--json'])
    const listed = JSON.parse(byNameId.out) as Array<Record<string, string>>
    t.equal(listed.length, 1)
    t.equal(listed[0].nameId, ALICE)
    t.equal(listed[0].email, ALICE)
    t.equal(listed[0].sid.length, hashSessionId('x').length, 'the hash Motion sees as sid, never the id')
    t.equal((await run(['list', '--all'])).code, 64, '--all is for revoke')
  })

  t.test(`${store}: sessions revoke — out of every instance at once, the upstream told`, async (t) => {
    const { a, b, alice, bob, logout, run } = await signedIn(t, store)
    t.equal(await live(a, bob), 200, "bob's session works on A")
    t.equal(await live(b, bob), 200, 'and on B')
    t.equal((await run(['revoke'])).code, 64, 'revoke without a filter is refused')
    const revoked = await run(['revoke', '--email', BOB.toLowerCase()])
    t.equal(revoked.code, 0, revoked.err)
    t.match(revoked.out, /revoked 1 session\(s\); the upstream acknowledged 1 of 1/)
    t.equal(await live(a, bob), 401, 'bob is out on A')
    t.equal(await live(b, bob), 401, 'and on B')
    t.equal(await live(a, alice), 200, 'alice is not touched')
    t.equal(logout.calls.length, 1)
    t.equal(logout.calls[0].identityError, undefined, 'the notice is signed with the gateways\' key')
    t.equal(logout.calls[0].identity?.sub, 'bob-persistent-id')
    t.equal(logout.calls[0].identity?.session_index, '_bob-1')
    t.same(logout.calls[0].body, { reason: 'revoked' })
    const byNameId = await run(['revoke', '--nameid', ALICE])
    t.match(byNameId.out, /revoked 1 session/)
    t.equal(await live(b, alice), 401, 'alice is out too')
    await loginThroughIdp(a.app, newBrowser(), { nameIdXml: 'carol' })
    t.match((await run(['revoke', '--all'])).out, /revoked 1 session/, '--all: whoever is left')
    t.match((await run(['list'])).out, /^SID[^\n]*\n0 session\(s\)\n$/)
  })
}

t.test('the command line: usage errors exit 64, a list exits 0', async (t) => {
  const dir = tempDir(t)
  const run = async (args: string[]) => await runCli(args, { cwd: dir, env: { ...process.env, ...baseEnv({ GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: dir }), GATEWAY_ENV_FILE: '' } as NodeJS.ProcessEnv })
  const bad = await run(['sessions', 'revoke', '--email'])
  t.equal(bad.status, 64)
  t.match(bad.stderr, /usage: saml-gateway sessions/)
  const list = await run(['sessions', 'list'])
  t.equal(list.status, 0, list.stderr)
  t.match(list.stdout, /0 session\(s\)/)
})

t.test('a store it cannot reach: 69 (EX_UNAVAILABLE), one line naming the setting, for list and revoke', async (t) => {
  const stopped = await startRedis()
  await stopped.stop()
  const env = baseEnv({ GATEWAY_SESSION_STORE: 'redis', GATEWAY_REDIS_URL: stopped.url, GATEWAY_DATA_DIR: tempDir(t) })
  for (const argv of [['list'], ['revoke', '--all']]) {
    let out = ''
    let err = ''
    const code = await sessionsCommand(argv, { env, cwd: env.GATEWAY_DATA_DIR, clock: () => TEST_NOW, out: s => { out += s }, err: s => { err += s } })
    t.equal(code, 69, argv.join(' '))
    t.match(err, /^saml-gateway sessions: GATEWAY_REDIS_URL: the redis session store is unreachable \(.+\)\. Fix: start Redis or correct the URL\n$/)
    t.equal(out, '')
  }
})
