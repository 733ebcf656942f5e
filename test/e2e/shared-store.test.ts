// Two gateways as two machines run them: the same settings, each its own data dir, no session
// secret and no identity key configured, one Redis. They behave as one: a login started on A
// finishes on B, /jwks.json is the same on both, a token minted by one verifies with the other's
// keys, and a key rotation goes by without one failed verification.
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { JSONWebKeySet } from 'jose'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'
import { startUpstream, type StubUpstream } from '../helpers/upstream.js'
import { buildResponse } from '../helpers/idp.js'
import { authnRequestOf, newBrowser, send } from '../helpers/login.js'
import { verifyIdentity } from '../../src/identity/verify.js'
import { IdentityKeyring, rotateIdentityKey, DEFAULT_GRACE_MS, DEFAULT_RETAIN_MS, JWKS_MAX_AGE_MS, KEYRING_REFRESH_MS } from '../../src/identity/keyring.js'
import { checkConfiguration } from '../../src/commands/check.js'
import { baseEnv, tempDir, TEST_NOW } from '../helpers/app.js'

const redis = await startRedis()
t.teardown(() => redis.stop())
const raw = new Redis(redis.url)
t.teardown(() => raw.quit())
const ISSUER = 'https://motion.example.com/api/auth/saml'

async function twoMachines (t: Test, extra: { a?: Record<string, string>, b?: Record<string, string> } = {}): Promise<{ a: TestApp, b: TestApp, upstream: StubUpstream, verifyWith: { jwks: JSONWebKeySet } }> {
  await raw.flushall()
  const verifyWith = { jwks: { keys: [] } as JSONWebKeySet }
  const upstream = await startUpstream({ issuer: ISSUER, jwks: () => verifyWith.jwks, now: () => TEST_NOW })
  t.teardown(() => upstream.close())
  // No GATEWAY_DATA_DIR here: buildTestApp gives each instance a temp dir of its own.
  const env = { GATEWAY_SESSION_STORE: 'redis', GATEWAY_REDIS_URL: redis.url, GATEWAY_UPSTREAM_LOGIN_URL: upstream.url }
  const a = await buildTestApp(t, { env: { ...env, ...extra.a } })
  const b = await buildTestApp(t, { env: { ...env, ...extra.b } })
  return { a, b, upstream, verifyWith }
}

const jwksOf = async (app: TestApp): Promise<JSONWebKeySet> => (await app.app.inject({ url: '/api/auth/saml/jwks.json' })).json()

t.test('separate data dirs, nothing configured: one gateway', async (t) => {
  const { a, b, upstream, verifyWith } = await twoMachines(t)
  t.not(a.config.dataDir, b.config.dataDir, 'each has a data dir of its own')
  const [jwksA, jwksB] = [await jwksOf(a), await jwksOf(b)]
  t.same(jwksA, jwksB, '/jwks.json is identical on both')
  t.equal(jwksA.keys.length, 1)

  const browser = newBrowser()
  const start = await send(a.app, browser, { url: '/api/auth/saml?returnTo=/queue' })
  const samlResponse = buildResponse({ inResponseTo: authnRequestOf(start.headers.location as string).id })
  verifyWith.jwks = jwksA // the upstream fetched the keys from A…
  const acs = await send(b.app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse } })
  t.equal(acs.statusCode, 302, 'started on A, finished on B (B reads the binding cookie A signed)')
  t.equal(upstream.calls[0].identityError, undefined, "…and verified B's token with A's keys")

  verifyWith.jwks = jwksB
  const again = await send(a.app, browser, { url: '/api/auth/saml?returnTo=/again' })
  t.equal(again.statusCode, 302)
  t.equal(again.headers.location, '/welcome', "B's session cookie is good on A: no trip to the IdP")
  t.equal(upstream.calls[1].identityError, undefined, "A's token verifies with B's keys")
  t.equal(upstream.calls[1].identity?.sid, upstream.calls[0].identity?.sid, 'one session')

  for (const app of [a, b]) {
    t.notOk(existsSync(join(app.config.dataDir, 'identity-key.pem')), 'no key written to a data dir')
    t.notOk(existsSync(join(app.config.dataDir, 'session-secret')), 'no secret written to a data dir')
  }
  t.equal(await raw.exists('saml-gateway:shared:session-secret', 'saml-gateway:shared:identity-keyring'), 2, 'both kept in the store')
})

t.test('a key generated into a data dir by an earlier version is adopted, not replaced', async (t) => {
  await raw.flushall()
  const dir = tempDir(t)
  const { loadIdentityKeys } = await import('../../src/identity/keys.js')
  const legacy = await loadIdentityKeys({ dataDir: dir })
  const a = await buildTestApp(t, { env: { GATEWAY_SESSION_STORE: 'redis', GATEWAY_REDIS_URL: redis.url, GATEWAY_DATA_DIR: dir } })
  t.equal(a.app.gateway.identityKeys.kid, legacy.kid, 'the kid upstreams already trust')
})

t.test('rotation: published at once, signs after the grace, the old key retired later; no failed verification', async (t) => {
  const { a, b } = await twoMachines(t)
  const store = a.app.gateway.store
  const ringA = a.app.gateway.identityKeys as IdentityKeyring
  const ringB = b.app.gateway.identityKeys as IdentityKeyring
  const oldKid = ringA.kid
  // An upstream that caches /jwks.json for its max-age, fetched from whichever instance nginx picks.
  let cached = { jwks: await jwksOf(a), at: a.clock.now }
  let failures = 0
  let verified = 0
  const kidsSeen = new Set<string>()
  const step = async (i: number) => {
    for (const app of [a, b]) {
      if (app.clock.now - cached.at >= JWKS_MAX_AGE_MS) cached = { jwks: await jwksOf(i % 2 === 0 ? a : b), at: app.clock.now }
      const url = 'http://127.0.0.1:8080/api/login/saml'
      const token = await app.app.gateway.upstream.identityHeader({ sessionId: 'x', user: { nameId: 'alice', issuer: 'idp', claims: {}, authTime: 0 } }, { method: 'POST', url })
      try {
        const identity = await verifyIdentity({ 'x-gateway-identity': token }, { issuer: ISSUER, audience: app.config.upstream.audience, method: 'POST', url, jwks: cached.jwks, now: () => app.clock.now })
        verified++
        kidsSeen.add(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid)
        t.ok(identity.sub === 'alice')
      } catch (err) {
        failures++
        t.fail(`step ${i}: ${(err as Error).message}`)
      }
    }
  }

  await step(0)
  const rotation = await rotateIdentityKey(store, { now: a.clock.now })
  t.equal(rotation.previous.kid, oldKid)
  const newKid = rotation.next.kid
  // A refreshes on time; B lags a whole refresh interval behind: the grace covers it.
  const steps = Math.ceil((DEFAULT_GRACE_MS + DEFAULT_RETAIN_MS + 2 * JWKS_MAX_AGE_MS) / KEYRING_REFRESH_MS)
  for (let i = 1; i <= steps; i++) {
    for (const app of [a, b]) app.clock.now += KEYRING_REFRESH_MS
    await ringA.refresh()
    if (i % 2 === 0) await ringB.refresh()
    if (i === 1) {
      const [jwksA, jwksB] = [await jwksOf(a), await jwksOf(b)]
      t.same(jwksA.keys.map(k => k.kid).sort(), [oldKid, newKid].sort(), 'the new key is published at once')
      t.equal(ringA.kid, oldKid, 'but the old one still signs')
      t.same(jwksB.keys.map(k => k.kid), [oldKid], 'B has not re-read the keyring yet: the old key alone, which still signs')
    }
    await step(i)
  }
  t.equal(failures, 0, 'no failed verification')
  t.ok(verified > 2 * steps, `${verified} tokens verified`)
  t.same([...kidsSeen].sort(), [oldKid, newKid].sort(), 'both keys signed, one after the other')
  t.equal(ringA.kid, newKid)
  t.equal(ringB.kid, newKid)
  t.same((await jwksOf(a)).keys.map(k => k.kid), [newKid], 'the old key is retired')
  t.same(await jwksOf(a), await jwksOf(b), 'and both publish the same again')
  await t.rejects(rotateIdentityKey(store, { now: a.clock.now, graceMs: 1000 }), /grace period must be at least/)
})

t.test('a rotation under way is not started twice', async (t) => {
  const { a } = await twoMachines(t)
  await rotateIdentityKey(a.app.gateway.store, { now: a.clock.now })
  await t.rejects(rotateIdentityKey(a.app.gateway.store, { now: a.clock.now + 1000 }), /rotation is under way/)
})

t.test('given values win; instances that disagree are told, and check says so', async (t) => {
  const secretA = 'a'.repeat(40)
  const secretB = 'b'.repeat(40)
  const { a, b } = await twoMachines(t, { a: { GATEWAY_SESSION_SECRET: secretA }, b: { GATEWAY_SESSION_SECRET: secretA } })
  t.ok(a && b)
  t.equal(await raw.exists('saml-gateway:shared:session-secret'), 0, 'a given secret is never written to the store')
  const env = baseEnv({ GATEWAY_SESSION_STORE: 'redis', GATEWAY_REDIS_URL: redis.url, GATEWAY_DATA_DIR: tempDir(t), GATEWAY_UPSTREAM_LOGIN_URL: 'http://127.0.0.1:9/x' })
  const agree = await checkConfiguration({ env: { ...env, GATEWAY_SESSION_SECRET: secretA }, cwd: tempDir(t), now: TEST_NOW, timeoutMs: 200 })
  t.notMatch(agree.problems.join('\n'), /GATEWAY_SESSION_SECRET/, 'the same secret: no problem')
  const differ = await checkConfiguration({ env: { ...env, GATEWAY_SESSION_SECRET: secretB }, cwd: tempDir(t), now: TEST_NOW, timeoutMs: 200 })
  t.match(differ.problems.join('\n'), /GATEWAY_SESSION_SECRET: another gateway on this store uses a different session secret/)
  const unset = await checkConfiguration({ env, cwd: tempDir(t), now: TEST_NOW, timeoutMs: 200 })
  t.match(unset.problems.join('\n'), /GATEWAY_SESSION_SECRET: another gateway[^\n]*here the one kept in the store/, 'unset here, given there: a problem too')
  t.notMatch(unset.problems.join('\n'), /GATEWAY_IDENTITY_KEY/, 'the identity keys agree (both shared)')
})
