import t from 'tap'
import { createHash } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { createIdentityMinter, hashSessionId, IDENTITY_HEADER } from '../../src/identity/mint.js'
import { loadIdentityKeys } from '../../src/identity/keys.js'
import type { IdentityKeys } from '../../src/identity/keys.js'
import type { IdentityClaims } from '../../src/identity/claims.js'
import { AUDIENCE, ISSUER, LOGIN_URL, SECRET, T0, at, fullClaims } from './_fixtures.js'

async function edKeys (dataDir: string): Promise<IdentityKeys> {
  return await loadIdentityKeys({ dataDir })
}

const request = { method: 'post', url: `${LOGIN_URL}?returnTo=%2Fagent#frag` }

t.test('the header name', async (t) => {
  t.equal(IDENTITY_HEADER, 'x-gateway-identity')
})

t.test('every claim, plus what the minter adds', async (t) => {
  const keys = await edKeys(t.testdir())
  const minter = createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE, now: at(T0 + 999) })
  const token = await minter.mint(fullClaims, request)

  t.same(decodeProtectedHeader(token), { alg: 'EdDSA', kid: keys.kid, typ: 'gateway-identity+jwt' })
  const claims = decodeJwt(token)
  const iat = Math.floor(T0 / 1000)
  t.match(claims, {
    ...fullClaims,
    iss: ISSUER,
    aud: AUDIENCE,
    iat,
    nbf: iat,
    exp: iat + 60,
    htm: 'POST',
    htu: LOGIN_URL
  })
  for (const name of Object.keys(fullClaims)) t.ok(name in claims, `${name} present`)
  t.match(claims.jti, /^[\w-]{22}$/, 'jti: 128 random bits')
  t.ok((claims.exp as number) - (claims.iat as number) <= 60, 'exp − iat ≤ 60')
})

t.test('undefined claims are omitted and unknown ones dropped', async (t) => {
  const keys = await edKeys(t.testdir())
  const minter = createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE, now: at(T0) })
  const claims = { sub: 'bob', sid: 'h', email: undefined, exp: 9999999999, iss: 'evil', admin: true }
  const token = await minter.mint(claims as unknown as IdentityClaims, { method: 'GET', url: LOGIN_URL })
  const decoded = decodeJwt(token)
  t.notOk('email' in decoded)
  t.notOk('admin' in decoded)
  t.equal(decoded.iss, ISSUER, 'the caller cannot set iss')
  t.equal(decoded.exp, Math.floor(T0 / 1000) + 60, 'nor exp')
  t.same(Object.keys(decoded).sort(), ['aud', 'exp', 'htm', 'htu', 'iat', 'iss', 'jti', 'nbf', 'sid', 'sub'])
})

t.test('each token has its own jti', async (t) => {
  const minter = createIdentityMinter(await edKeys(t.testdir()), { issuer: ISSUER, audience: AUDIENCE, now: at(T0) })
  const a = decodeJwt(await minter.mint(fullClaims, request))
  const b = decodeJwt(await minter.mint(fullClaims, request))
  t.not(a.jti, b.jti)
})

t.test('ttl: shorter on request, never more than 60 s', async (t) => {
  const keys = await edKeys(t.testdir())
  const short = createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 10, now: at(T0) })
  const claims = decodeJwt(await short.mint(fullClaims, request))
  t.equal((claims.exp as number) - (claims.iat as number), 10)
  for (const ttlSeconds of [61, 3600, 0, -1, 1.5, Number.NaN]) {
    t.throws(() => createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds }),
      { message: /ttlSeconds must be a whole number from 1 to 60/ }, `ttl ${ttlSeconds}`)
  }
})

t.test('sub and sid are required; issuer and audience too', async (t) => {
  const keys = await edKeys(t.testdir())
  const minter = createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE })
  await t.rejects(minter.mint({ sub: '', sid: 'h' }, request), { message: /sub is required/ })
  await t.rejects(minter.mint({ sub: 'a' } as IdentityClaims, request), { message: /sid is required/ })
  t.throws(() => createIdentityMinter(keys, { issuer: '', audience: AUDIENCE }), { message: /issuer is required/ })
  t.throws(() => createIdentityMinter(keys, { issuer: ISSUER, audience: '' }), { message: /audience is required/ })
  await t.rejects(minter.mint(fullClaims, { method: 'POST', url: '/relative' }), TypeError)
})

t.test('HS256 keys mint HS256 tokens', async (t) => {
  const keys = await loadIdentityKeys({ dataDir: t.testdir(), secret: SECRET })
  const minter = createIdentityMinter(keys, { issuer: ISSUER, audience: AUDIENCE, now: at(T0) })
  const header = decodeProtectedHeader(await minter.mint(fullClaims, request))
  t.same(header, { alg: 'HS256', kid: keys.kid, typ: 'gateway-identity+jwt' })
})

t.test('hashSessionId: SHA-256, base64url, never the id', async (t) => {
  const sid = 'the-session-id'
  const hashed = hashSessionId(sid)
  t.equal(hashed, createHash('sha256').update(sid).digest('base64url'))
  t.match(hashed, /^[\w-]{43}$/)
  t.equal(hashSessionId(sid), hashed, 'stable')
  t.not(hashSessionId('another'), hashed)
})
