import t from 'tap'
import type { Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT, UnsecuredJWT, base64url } from 'jose'
import { createIdentityMinter } from '../../src/identity/mint.js'
import { loadIdentityKeys } from '../../src/identity/keys.js'
import type { IdentityKeys } from '../../src/identity/keys.js'
import {
  createMemoryJtiCache, createMemorySessionRevocations, IdentityVerificationError, revokeSession, verifyIdentity
} from '../../src/identity/verify.js'
import type { VerifyOptions } from '../../src/identity/verify.js'
import { AUDIENCE, ISSUER, LOGIN_URL, SECRET, T0, at, fullClaims } from './_fixtures.js'

const edPem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string

const dir = t.testdir({ 'old.pem': edPem(), 'new.pem': edPem(), 'other.pem': edPem() })
let keys: IdentityKeys
let oldKeys: IdentityKeys
let otherKeys: IdentityKeys
let hsKeys: IdentityKeys

t.before(async () => {
  oldKeys = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'old.pem') })
  keys = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'new.pem'), previousKeyFile: join(dir, 'old.pem') })
  otherKeys = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'other.pem') })
  hsKeys = await loadIdentityKeys({ dataDir: dir, secret: SECRET })
})

const mint = async (k = keys, request = { method: 'POST', url: `${LOGIN_URL}?returnTo=%2F` }, now = T0) =>
  await createIdentityMinter(k, { issuer: ISSUER, audience: AUDIENCE, now: at(now) }).mint(fullClaims, request)

// One rule at a time: these tests verify a token several times, so the once-only check (on by
// default) is off here unless a test names a cache; the default has tests of its own below.
const options = (extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
  issuer: ISSUER, audience: AUDIENCE, method: 'POST', url: LOGIN_URL, jwks: keys.jwks, now: at(T0), jtiCache: false, ...extra
})

const header = (token: string) => ({ 'x-gateway-identity': token })

async function rejectsWith (t: Test, promise: Promise<unknown>, code: string, what = code) {
  const err = await promise.then(() => null, (e: unknown) => e)
  t.ok(err instanceof IdentityVerificationError, `${what}: an IdentityVerificationError`)
  t.match(err, { code, statusCode: code === 'IDENTITY_KEYS_UNAVAILABLE' ? 503 : 401, name: 'IdentityVerificationError' }, what)
}

t.test('a minted token verifies with the jwks and gives back the claims', async (t) => {
  const claims = await verifyIdentity(header(await mint()), options())
  t.match(claims, { ...fullClaims, iss: ISSUER, aud: AUDIENCE, htm: 'POST', htu: LOGIN_URL })
  t.ok(claims.exp - claims.iat <= 60)
})

t.test('headers in any shape: Node record, one-element array, any case, fetch Headers', async (t) => {
  const token = await mint()
  t.ok(await verifyIdentity({ 'x-gateway-identity': [token] }, options()))
  t.ok(await verifyIdentity({ 'X-Gateway-Identity': token }, options()))
  t.ok(await verifyIdentity(new Headers({ 'X-Gateway-Identity': token }), options()))
})

t.test('missing, or more than one value', async (t) => {
  const token = await mint()
  await rejectsWith(t, verifyIdentity({}, options()), 'IDENTITY_MISSING', 'no header')
  await rejectsWith(t, verifyIdentity({ 'x-gateway-identity': '' }, options()), 'IDENTITY_MISSING', 'empty header')
  await rejectsWith(t, verifyIdentity(new Headers(), options()), 'IDENTITY_MISSING', 'no header (Headers)')
  await rejectsWith(t, verifyIdentity({ 'x-gateway-identity': [token, token] }, options()), 'IDENTITY_MALFORMED', 'array of two')
  await rejectsWith(t, verifyIdentity({ 'x-gateway-identity': `${token}, ${token}` }, options()), 'IDENTITY_MALFORMED', 'two joined by Node')
  await rejectsWith(t, verifyIdentity({ 'x-gateway-identity': token, 'X-Gateway-Identity': token }, options()), 'IDENTITY_MALFORMED', 'two names')
  const twice = new Headers()
  twice.append('x-gateway-identity', token)
  twice.append('x-gateway-identity', token)
  await rejectsWith(t, verifyIdentity(twice, options()), 'IDENTITY_MALFORMED', 'two in Headers')
  await rejectsWith(t, verifyIdentity(header('not.a.jwt'), options()), 'IDENTITY_MALFORMED', 'garbage')
})

t.test('issuer and audience', async (t) => {
  const token = await mint()
  await rejectsWith(t, verifyIdentity(header(token), options({ audience: 'https://other.example.com' })), 'IDENTITY_AUDIENCE')
  await rejectsWith(t, verifyIdentity(header(token), options({ issuer: 'https://evil.example.com' })), 'IDENTITY_ISSUER')
})

t.test('time: tolerance, expiry, not yet valid, max age', async (t) => {
  const token = await mint() // iat = nbf = T0, exp = T0 + 60 s
  t.ok(await verifyIdentity(header(token), options({ now: at(T0 + 64_000) })), 'expired 4 s ago: within the 5 s tolerance')
  await rejectsWith(t, verifyIdentity(header(token), options({ now: at(T0 + 66_000) })), 'IDENTITY_EXPIRED', 'expired past tolerance')
  t.ok(await verifyIdentity(header(token), options({ now: at(T0 - 4_000) })), '4 s early: within tolerance')
  await rejectsWith(t, verifyIdentity(header(token), options({ now: at(T0 - 10_000) })), 'IDENTITY_NOT_YET_VALID', 'not yet valid')
  await rejectsWith(t, verifyIdentity(header(token), options({ now: at(T0 + 20_000), maxAgeSeconds: 10 })), 'IDENTITY_EXPIRED', 'older than maxAge')
  await rejectsWith(t, verifyIdentity(header(token), options({ now: at(T0 + 61_000), clockToleranceSeconds: 0 })), 'IDENTITY_EXPIRED', 'no tolerance')
})

t.test('binding to the request: method and URL', async (t) => {
  const token = await mint(keys, { method: 'post', url: `${LOGIN_URL}?returnTo=%2Fa#x` })
  t.ok(await verifyIdentity(header(token), options({ method: 'post' })), 'method compared case-insensitively')
  t.ok(await verifyIdentity(header(token), options({ url: `${LOGIN_URL}?other=1#y` })), 'query and fragment ignored')
  t.ok(await verifyIdentity(header(token), options({ url: 'HTTPS://Motion.Example.com:443/api/login/saml' })), 'compared normalised')
  await rejectsWith(t, verifyIdentity(header(token), options({ url: 'https://motion.example.com/api/other' })), 'IDENTITY_BINDING', 'another URL')
  await rejectsWith(t, verifyIdentity(header(token), options({ url: 'https://motion.example.com:8443/api/login/saml' })), 'IDENTITY_BINDING', 'another port')
  await rejectsWith(t, verifyIdentity(header(token), options({ method: 'GET' })), 'IDENTITY_BINDING', 'another method')
})

t.test('replay: a jti is accepted once when a cache is given', async (t) => {
  const cache = createMemoryJtiCache({ now: at(T0) })
  const token = await mint()
  t.ok(await verifyIdentity(header(token), options({ jtiCache: cache })), 'first use')
  await rejectsWith(t, verifyIdentity(header(token), options({ jtiCache: cache })), 'IDENTITY_REPLAY', 'second use')
  t.ok(await verifyIdentity(header(await mint()), options({ jtiCache: cache })), 'another token is fine')
  t.ok(await verifyIdentity(header(token), options({ jtiCache: false })), 'jtiCache: false turns the check off')
  t.equal(cache.size, 2)
})

t.test('replay: without a jtiCache option, a token is still accepted once (the process-wide cache)', async (t) => {
  const token = await mint()
  const defaults = options({ jtiCache: undefined, revocations: createMemorySessionRevocations() })
  t.ok(await verifyIdentity(header(token), defaults), 'first use')
  await rejectsWith(t, verifyIdentity(header(token), defaults), 'IDENTITY_REPLAY', 'second use, no cache given')
  await rejectsWith(t, verifyIdentity(header(token), { ...defaults, now: at(T0 + 30_000) }), 'IDENTITY_REPLAY', 'second use, 30 s later')
  t.ok(await verifyIdentity(header(await mint()), defaults), 'another token is fine')
})

t.test('a token of a gateway session that has ended is refused, even unused', async (t) => {
  const revocations = createMemorySessionRevocations({ now: at(T0) })
  const before = await mint()
  t.ok(await verifyIdentity(header(before), options({ revocations })), 'accepted while the session lives')
  const unused = await mint()
  await revokeSession(fullClaims.sid, { revocations, now: at(T0) })
  await rejectsWith(t, verifyIdentity(header(unused), options({ revocations })), 'IDENTITY_SESSION_ENDED', 'after the logout notice')
  await rejectsWith(t, verifyIdentity(header(unused), options({ revocations, now: at(T0 + 64_000) })), 'IDENTITY_SESSION_ENDED', 'until it would expire anyway')
  const other = await createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE, now: at(T0) })
    .mint({ ...fullClaims, sid: 'another-session' }, { method: 'POST', url: LOGIN_URL })
  t.ok(await verifyIdentity(header(other), options({ revocations })), 'another session of the same person is not touched')
  t.equal(revocations.size, 1)
  await revokeSession('late', { revocations, now: at(T0 + 3600_000) })
  t.equal(revocations.size, 1, 'an ended session is forgotten once none of its tokens can be valid')
  await t.rejects(revokeSession('', { revocations }), TypeError)
})

t.test('replay: an async cache, and one whose add says "already there"', async (t) => {
  const seen = new Set<string>()
  const asyncCache = { has: async (jti: string) => seen.has(jti), add: async (jti: string) => { seen.add(jti) } }
  const token = await mint()
  t.ok(await verifyIdentity(header(token), options({ jtiCache: asyncCache })))
  await rejectsWith(t, verifyIdentity(header(token), options({ jtiCache: asyncCache })), 'IDENTITY_REPLAY', 'async cache')
  const racing = { has: () => false, add: () => false }
  await rejectsWith(t, verifyIdentity(header(token), options({ jtiCache: racing })), 'IDENTITY_REPLAY', 'atomic add lost the race')
  let until = 0
  const recording = { has: () => false, add: (_: string, exp: number) => { until = exp } }
  await verifyIdentity(header(await mint()), options({ jtiCache: recording }))
  t.equal(until, Math.floor(T0 / 1000) + 60 + 5, 'kept until exp plus tolerance')
})

t.test('the memory jti cache forgets expired entries', async (t) => {
  let now = T0
  const cache = createMemoryJtiCache({ now: () => now })
  t.equal(cache.add('a', T0 / 1000 + 60), true)
  t.equal(cache.add('a', T0 / 1000 + 60), false)
  t.equal(cache.has('a'), true)
  now = T0 + 61_000
  t.equal(cache.has('a'), false)
  cache.add('b', now / 1000 + 60)
  t.equal(cache.size, 1, 'a purged')
})

t.test('signature', async (t) => {
  const token = await mint()
  const [h, p, s] = token.split('.')
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11)
  await rejectsWith(t, verifyIdentity(header(`${h}.${p}.${flipped}`), options()), 'IDENTITY_SIGNATURE', 'tampered signature')

  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p)))
  const forged = base64url.encode(JSON.stringify({ ...payload, sub: 'admin' }))
  await rejectsWith(t, verifyIdentity(header(`${h}.${forged}.${s}`), options()), 'IDENTITY_SIGNATURE', 'tampered payload')

  await rejectsWith(t, verifyIdentity(header(await mint(otherKeys)), options()), 'IDENTITY_SIGNATURE', 'unknown key')
})

t.test("alg 'none' is refused", async (t) => {
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode((await mint()).split('.')[1])))
  const none = base64url.encode(JSON.stringify({ alg: 'none', kid: keys.kid, typ: 'gateway-identity+jwt' }))
  const token = `${none}.${base64url.encode(JSON.stringify(payload))}.`
  await rejectsWith(t, verifyIdentity(header(token), options()), 'IDENTITY_SIGNATURE', 'alg none, hand-made')
  const jose = new UnsecuredJWT(payload).encode()
  await rejectsWith(t, verifyIdentity(header(jose), options()), 'IDENTITY_SIGNATURE', 'alg none, from jose')
  await rejectsWith(t, verifyIdentity(header(token), options({ jwks: undefined, secret: SECRET })), 'IDENTITY_SIGNATURE', 'alg none against a secret')
})

t.test('alg confusion: an HS256 token is refused by an EdDSA jwks', async (t) => {
  // The classic attack: HMAC with the *public* key as the secret, under the real kid.
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode((await mint()).split('.')[1])))
  const publicJwk = keys.jwks.keys[0]
  for (const secret of [JSON.stringify(publicJwk), String(publicJwk.x)]) {
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: keys.kid, typ: 'gateway-identity+jwt' })
      .sign(new TextEncoder().encode(secret.padEnd(32, '=')))
    await rejectsWith(t, verifyIdentity(header(token), options()), 'IDENTITY_SIGNATURE', 'HS256 under the EdDSA kid')
  }
  await rejectsWith(t, verifyIdentity(header(await mint(hsKeys)), options()), 'IDENTITY_SIGNATURE', 'a real HS256 token')
  await rejectsWith(t, verifyIdentity(header(await mint()), options({ jwks: undefined, secret: SECRET })),
    'IDENTITY_SIGNATURE', 'an EdDSA token against a secret')
})

t.test('a token of another type is refused', async (t) => {
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode((await mint()).split('.')[1])))
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: 'JWT' })
    .sign(keys.signingKey)
  await rejectsWith(t, verifyIdentity(header(token), options()), 'IDENTITY_MALFORMED', 'typ JWT')
})

t.test('HS256 with a shared secret', async (t) => {
  const token = await mint(hsKeys)
  const claims = await verifyIdentity(header(token), options({ jwks: undefined, secret: SECRET }))
  t.equal(claims.sub, fullClaims.sub)
  await rejectsWith(t, verifyIdentity(header(token), options({ jwks: undefined, secret: SECRET.toUpperCase() })),
    'IDENTITY_SIGNATURE', 'another secret')
})

t.test('rotation: a token signed with the previous key still verifies', async (t) => {
  const token = await mint(oldKeys)
  const claims = await verifyIdentity(header(token), options({ jwks: keys.jwks }))
  t.equal(claims.sub, fullClaims.sub)
  await rejectsWith(t, verifyIdentity(header(token), options({ jwks: { keys: [keys.jwks.keys[0]] } })),
    'IDENTITY_SIGNATURE', 'once the previous key is withdrawn')
})

t.test('jwksUrl: fetched over HTTP and cached per URL', async (t) => {
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(keys.jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/auth/saml/jwks.json`

  t.ok(await verifyIdentity(header(await mint()), options({ jwks: undefined, jwksUrl })))
  t.ok(await verifyIdentity(header(await mint(oldKeys)), options({ jwks: undefined, jwksUrl })))
  t.equal(fetches, 1, 'one fetch for both')
  await rejectsWith(t, verifyIdentity(header(await mint(hsKeys)), options({ jwks: undefined, jwksUrl })), 'IDENTITY_SIGNATURE', 'HS256 token')
})

t.test('jwksUrl that does not answer: IDENTITY_KEYS_UNAVAILABLE (503)', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  await rejectsWith(t, verifyIdentity(header(await mint()), options({ jwks: undefined, jwksUrl: `http://127.0.0.1:${port}/jwks.json` })),
    'IDENTITY_KEYS_UNAVAILABLE')
})

t.test('misused options are the caller\'s bug: TypeError', async (t) => {
  const token = await mint()
  await t.rejects(verifyIdentity(header(token), options({ secret: SECRET })), { name: 'TypeError', message: /exactly one of/ })
  await t.rejects(verifyIdentity(header(token), options({ jwks: undefined })), { name: 'TypeError', message: /exactly one of/ })
  await t.rejects(verifyIdentity(header(token), options({ jwks: undefined, secret: 'short' })), { name: 'TypeError', message: /at least 32 bytes/ })
  await t.rejects(verifyIdentity(header(token), options({ audience: '' })), { name: 'TypeError', message: /audience is required/ })
  await t.rejects(verifyIdentity(header(token), options({ clockToleranceSeconds: -1 })), { name: 'TypeError' })
})

t.test('the verifier and the Express middleware import nothing of the gateway but claims.ts and once.ts', async (t) => {
  const allowed: Record<string, string[]> = {
    'verify.ts': ['jose', './claims.js', './once.js'],
    'claims.ts': [],
    'once.ts': [],
    'express.ts': ['node:http', './verify.js', './once.js']
  }
  for (const file of Object.keys(allowed)) {
    const source = readFileSync(join(import.meta.dirname, '../../src/identity', file), 'utf8')
      .replace(/^\s*\/\/.*$/gm, '') // the usage example in the header comment
    const imports = [...source.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? m[2])
    t.ok(imports.length > 0 || allowed[file].length === 0, `${file}: imports found`)
    for (const spec of imports) t.ok(allowed[file].includes(spec), `${file} imports ${spec}`)
  }
})
