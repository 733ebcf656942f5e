// The Express middleware in the demo's stand-in Motion, against the real gateway over HTTP: keys
// fetched from the gateway's /jwks.json, tokens made with the gateway's own key. Forged, replayed,
// expired tokens, and one of a session that signed out, never open a Motion session.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startDemo } from '../../demo/stack.js'
import { createIdentityMinter } from '../../src/identity/mint.js'
import { loadIdentityKeys } from '../../src/identity/keys.js'

const dataDir = mkdtempSync(join(tmpdir(), 'saml-gateway-express-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
const demo = await startDemo({ ports: 0, dataDir, logger: false, store: 'memory' })
t.teardown(() => demo.close())
const loginUrl = `${demo.motionUrl}/api/login/saml`
const { identityKeys } = demo.app.gateway
const minter = (now = Date.now) => createIdentityMinter(identityKeys, { issuer: `${demo.motionUrl}/api/auth/saml`, audience: demo.motionUrl, now })
const alice = { sub: 'alice@contoso.example', sid: 'alice-session', email: 'alice@contoso.example' }

const handOff = async (token: string, cookie?: string) => {
  const res = await request(loginUrl, {
    method: 'POST',
    headers: { 'x-gateway-identity': token, 'content-type': 'application/json', ...(cookie !== undefined ? { cookie } : {}) },
    body: JSON.stringify({ returnTo: '/' })
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: text.startsWith('{') ? JSON.parse(text) : undefined }
}

t.test('a token the gateway made opens a Motion session, once', async (t) => {
  const token = await minter().mint(alice, { method: 'POST', url: loginUrl })
  const first = await handOff(token)
  t.equal(first.status, 302)
  t.match(String(first.headers['set-cookie']), /motion_session=/)
  const again = await handOff(token)
  t.equal(again.status, 401, 'replayed')
  t.equal(again.json?.error, 'IDENTITY_REPLAY')
  t.equal(demo.motion.refusals.at(-1), 'IDENTITY_REPLAY')
})

t.test('forged and expired tokens are refused', async (t) => {
  const otherDir = mkdtempSync(join(tmpdir(), 'saml-gateway-forger-'))
  t.teardown(() => rmSync(otherDir, { recursive: true, force: true }))
  writeFileSync(join(otherDir, 'k.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const forger = await loadIdentityKeys({ dataDir: otherDir, keyFile: join(otherDir, 'k.pem') })
  // The forger even claims the gateway's key id.
  const forged = await createIdentityMinter({ ...forger, kid: identityKeys.kid }, { issuer: `${demo.motionUrl}/api/auth/saml`, audience: demo.motionUrl })
    .mint(alice, { method: 'POST', url: loginUrl })
  const expired = await minter(() => Date.now() - 120_000).mint(alice, { method: 'POST', url: loginUrl })
  const elsewhere = await minter().mint(alice, { method: 'POST', url: `${demo.motionUrl}/api/users/1` })
  for (const [name, token, code] of [['forged', forged, 'IDENTITY_SIGNATURE'], ['expired', expired, 'IDENTITY_EXPIRED'], ['for another URL', elsewhere, 'IDENTITY_BINDING']]) {
    const res = await handOff(token)
    t.equal(res.status, 401, name)
    t.equal(res.json?.error, code, `${name}: ${code}`)
    t.equal(res.headers['set-cookie'], undefined, `${name}: no Motion session`)
  }
})

t.test('after signing out of Motion, an unused token of that gateway session is refused', async (t) => {
  const session = { ...alice, sid: 'signs-out' }
  const unused = await minter().mint(session, { method: 'POST', url: loginUrl })
  const signedIn = await handOff(await minter().mint(session, { method: 'POST', url: loginUrl }))
  const cookie = String(signedIn.headers['set-cookie']).split(';')[0]
  const out = await request(`${demo.motionUrl}/logout`, { headers: { cookie } })
  await out.body.dump()
  t.equal(out.statusCode, 302)
  const late = await handOff(unused)
  t.equal(late.status, 401)
  t.equal(late.json?.error, 'IDENTITY_SESSION_ENDED')
})

t.test("the gateway's logout notice (GATEWAY_UPSTREAM_LOGOUT_URL) ends Motion's sessions of that gateway session", async (t) => {
  const session = { ...alice, sid: 'idp-logout' }
  const signedIn = await handOff(await minter().mint(session, { method: 'POST', url: loginUrl }))
  t.equal(signedIn.status, 302)
  t.ok([...demo.motion.sessions.values()].some((s) => s.identity.sid === 'idp-logout'))
  const noticeUrl = demo.config.upstream.logoutUrl!
  t.equal(noticeUrl, `${demo.motionUrl}/api/logout/saml`)
  const notice = await request(noticeUrl, {
    method: 'POST',
    headers: { 'x-gateway-identity': await minter().mint(session, { method: 'POST', url: noticeUrl }), 'content-type': 'application/json' },
    body: '{"reason":"idp_logout"}'
  })
  await notice.body.dump()
  t.equal(notice.statusCode, 204)
  t.notOk([...demo.motion.sessions.values()].some((s) => s.identity.sid === 'idp-logout'), 'the Motion session is gone')
  t.equal((await handOff(await minter().mint(session, { method: 'POST', url: loginUrl }))).json?.error, 'IDENTITY_SESSION_ENDED')
})
