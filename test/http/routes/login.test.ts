import t, { type Test } from 'tap'
import { buildTestApp, ENTRA_ENTRYPOINT } from '../../helpers/app.js'
import { startUpstream, type StubUpstream } from '../../helpers/upstream.js'
import { buildResponse, TEST_NAME_ID, TEST_NOW as TEST_NOW_MS } from '../../helpers/idp.js'
import { authnRequestOf, loginThroughIdp, newBrowser, send } from '../../helpers/login.js'
import type { TestApp } from '../../helpers/app.js'
import type { ResponseValidator } from '../../../src/sp/login-flow.js'
import { validateLoginResponse } from '../../../src/sp/read/response.js'
import { fieldText, isFormEncoded, type FormEncoded } from '../../../src/sp/read/form-value.js'

async function setup (t: Test, env: Record<string, string> = {}): Promise<TestApp & { upstream: StubUpstream }> {
  let app: TestApp | undefined
  const upstream = await startUpstream({
    issuer: 'https://motion.example.com/api/auth/saml',
    jwks: () => app!.app.gateway.identityKeys.jwks,
    now: () => app!.clock.now
  })
  t.teardown(() => upstream.close())
  app = await buildTestApp(t, { env: { GATEWAY_UPSTREAM_LOGIN_URL: upstream.url, ...env } })
  return { ...app, upstream }
}

t.test('GET /api/auth/saml without a session redirects to the IdP with a remembered, browser-bound AuthnRequest', async (t) => {
  const { app } = await setup(t)
  const browser = newBrowser()
  const res = await send(app, browser, { url: '/api/auth/saml?returnTo=/queue' })
  t.equal(res.statusCode, 302)
  const location = res.headers.location as string
  t.ok(location.startsWith(ENTRA_ENTRYPOINT + '?SAMLRequest='), 'to the entry point')
  const { id, xml } = authnRequestOf(location)
  t.match(xml, /AssertionConsumerServiceURL="https:\/\/motion\.example\.com\/api\/auth\/saml\/callback"/)
  t.match(xml, /<saml:Issuer>https:\/\/motion\.example\.com<\/saml:Issuer>/)
  t.notMatch(xml, /ForceAuthn="true"/)
  const binding = ([] as string[]).concat(res.headers['set-cookie'] as string[]).find((c) => c.startsWith('__Host-saml_gateway_request='))
  t.ok(binding, 'binding cookie set')
  t.match(binding!, /HttpOnly/)
  t.match(binding!, /Secure/)
  t.match(binding!, /SameSite=None/)
  t.match(binding!, /Path=\/;/)
  t.ok(await app.gateway.store.takeOnce('authn', id), 'request ID remembered in the store')

  const forced = await send(app, newBrowser(), { url: '/api/auth/saml/login?forceAuthn=1' })
  t.match(authnRequestOf(forced.headers.location as string).xml, /ForceAuthn="true"/)
})

t.test('SP-initiated login: ACS validates, makes a new session and hands a verified identity to the upstream', async (t) => {
  const { app, upstream } = await setup(t)
  const browser = newBrowser()
  browser.jar['__Host-saml_gateway_session'] = 'planted-by-attacker'
  const { acs, requestId } = await loginThroughIdp(app, browser, {}, '/queue?tab=2')
  t.equal(acs.statusCode, 302, 'upstream answer relayed')
  t.equal(acs.headers.location, '/welcome')
  const cookies = ([] as string[]).concat(acs.headers['set-cookie'] as string[])
  t.ok(cookies.some((c) => c.startsWith('motion_session=abc')), "upstream's cookie relayed")
  const session = cookies.find((c) => c.startsWith('__Host-saml_gateway_session='))
  t.ok(session, 'gateway session cookie set')
  t.match(session!, /HttpOnly/)
  t.match(session!, /Secure/)
  t.match(session!, /SameSite=Lax/)
  t.notMatch(session!, /planted-by-attacker/)

  t.equal(upstream.calls.length, 1)
  const call = upstream.calls[0]
  t.equal(call.identityError, undefined, 'the upstream verified the identity header')
  t.same(call.body, { returnTo: '/queue?tab=2' })
  const id = call.identity!
  t.equal(id.sub, TEST_NAME_ID)
  t.equal(id.email, TEST_NAME_ID)
  t.equal(id.given_name, 'Alice')
  t.equal(id.family_name, 'Example')
  t.ok(id.oid)
  t.equal(id.groups?.length, 2)
  t.equal(id.htm, 'POST')
  t.equal(id.htu, upstream.url)
  t.ok(id.exp - id.iat <= 60)
  t.ok(id.sid && id.sid.length > 20 && !cookies.join().includes(id.sid), 'sid is a hash, not the cookie value')
  t.ok(id.session_index)

  // The AuthnRequest was consumed once.
  t.equal(await app.gateway.store.takeOnce('authn', requestId), null)

  const me = await send(app, browser, { url: '/api/auth/saml/session' })
  t.equal(me.statusCode, 200)
  t.equal(me.json().nameId, TEST_NAME_ID)
})

t.test('a repeat login with a live session goes straight to the handoff, never to the IdP', async (t) => {
  const { app, upstream } = await setup(t)
  const browser = newBrowser()
  await loginThroughIdp(app, browser)
  const again = await send(app, browser, { url: '/api/auth/saml?returnTo=/reports' })
  t.equal(again.statusCode, 302)
  t.equal(again.headers.location, '/welcome', "the upstream's answer, not the IdP")
  t.equal(upstream.calls.length, 2)
  t.same(upstream.calls[1].body, { returnTo: '/reports' })
  const forced = await send(app, browser, { url: '/api/auth/saml?forceAuthn=1' })
  t.ok((forced.headers.location as string).startsWith(ENTRA_ENTRYPOINT), 'forceAuthn=1 goes to the IdP even so')
})

t.test('a replayed POST of the same SAMLResponse is rejected with SAML_REPLAY, 4xx, code and correlation id', async (t) => {
  const { app, upstream } = await setup(t)
  const browser = newBrowser()
  const { samlResponse } = await loginThroughIdp(app, browser)
  const replay = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse }, headers: { accept: 'application/json' } })
  t.equal(replay.statusCode, 400)
  const body = replay.json()
  t.equal(body.error, 'SAML_REPLAY')
  t.match(body.correlationId, /^[0-9a-f-]{36}$/)
  t.notMatch(replay.body, /<saml|Assertion|at \w+ \(/, 'no XML, no stack')
  t.equal(upstream.calls.length, 1, 'the upstream was not called again')
})

t.test('a browser answers HTML naming the code and the correlation id', async (t) => {
  const { app } = await setup(t)
  const res = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: 'bm90IHhtbA==' }, headers: { accept: 'text/html' } })
  t.equal(res.statusCode, 400)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /SAML_MALFORMED|SAML_SCHEMA/)
  t.match(res.body, /Reference<\/dt><dd><code>[0-9a-f-]{36}</)
  t.notMatch(res.body, /<script/)
})

t.test('InResponseTo must match a request made by this browser, once', async (t) => {
  const { app } = await setup(t)
  const alice = newBrowser()
  const start = await send(app, alice, { url: '/api/auth/saml' })
  const { id } = authnRequestOf(start.headers.location as string)
  const stolen = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: id }) }, headers: { accept: 'application/json' } })
  t.equal(stolen.json().error, 'SAML_IN_RESPONSE_TO', 'another browser cannot use it')
  const unknown = await send(app, alice, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: '_never_sent' }) }, headers: { accept: 'application/json' } })
  t.equal(unknown.json().error, 'SAML_IN_RESPONSE_TO', 'an ID we never sent')
})

t.test('IdP-initiated (Entra "Test" button): accepted by default, RelayState only a place on this site', async (t) => {
  const { app, upstream } = await setup(t)
  const res = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null }), RelayState: '/dashboard' } })
  t.equal(res.statusCode, 302)
  t.same(upstream.calls[0].body, { returnTo: '/dashboard' })
  for (const evil of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '%2F%2Fevil.example']) {
    await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null }), RelayState: evil } })
    t.same(upstream.calls.at(-1)!.body, { returnTo: '/' }, `RelayState ${evil} ignored`)
  }
})

t.test('IdP-initiated refused when GATEWAY_ALLOW_IDP_INITIATED=false', async (t) => {
  const { app, upstream } = await setup(t, { GATEWAY_ALLOW_IDP_INITIATED: 'false' })
  const res = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null }) }, headers: { accept: 'application/json' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'SAML_UNSOLICITED')
  t.equal(upstream.calls.length, 0)
})

t.test('the upstream refuses the user: a friendly 403, the gateway session stays', async (t) => {
  const { app, upstream } = await setup(t)
  upstream.answer = (_h, res) => { res.writeHead(404, { 'content-type': 'application/json' }); res.end(JSON.stringify({ message: 'No Motion user has this email' })) }
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(app, browser)
  t.equal(acs.statusCode, 403)
  t.match(acs.body, /No Motion user has this email/)
  t.match(acs.body, /UPSTREAM_REFUSED/)
  t.equal((await send(app, browser, { url: '/api/auth/saml/session' })).statusCode, 200, 'session kept')
})

t.test('the upstream is down or fails: 502, and a retry does not go back to the IdP', async (t) => {
  const { app, upstream } = await setup(t)
  upstream.answer = (_h, res) => { res.writeHead(500); res.end('boom') }
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(app, browser)
  t.equal(acs.statusCode, 502)
  t.match(acs.body, /UPSTREAM_UNAVAILABLE/)
  await upstream.close()
  const retry = await send(app, browser, { url: '/api/auth/saml', headers: { accept: 'application/json' } })
  t.equal(retry.statusCode, 502, 'unreachable upstream: 502 again, not the IdP')
  t.equal(retry.json().error, 'UPSTREAM_UNAVAILABLE')
})

t.test('multi-login: a 300 answer shows a chooser; the choice needs the CSRF token and goes upstream with profile', async (t) => {
  const { app, upstream } = await setup(t)
  upstream.answer = (h, res) => {
    if (h.body.profile === undefined) {
      res.writeHead(300, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ profiles: [{ id: '17', label: 'Alice (agent)', role: 'agent' }, { id: '42', label: 'Alice (supervisor)' }] }))
    } else {
      res.writeHead(302, { location: `/as/${String(h.body.profile)}` }); res.end()
    }
  }
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(app, browser, {}, '/queue')
  t.equal(acs.statusCode, 200)
  t.match(acs.body, /<form method="post" action="\/api\/auth\/saml\/profile">/)
  t.match(acs.body, /Alice \(supervisor\)/)
  const csrf = /name="csrf" value="([^"]+)"/.exec(acs.body)![1]
  const forged = await send(app, browser, { url: '/api/auth/saml/profile', form: { profile: '42', csrf: 'forged' }, headers: { accept: 'application/json' } })
  t.equal(forged.statusCode, 403)
  t.equal(forged.json().error, 'CSRF_TOKEN')
  const missing = await send(app, browser, { url: '/api/auth/saml/profile', form: { profile: '42' }, headers: { accept: 'application/json' } })
  t.equal(missing.json().error, 'CSRF_TOKEN')
  const other = await send(app, browser, { url: '/api/auth/saml/profile', form: { profile: '99', csrf }, headers: { accept: 'application/json' } })
  t.equal(other.json().error, 'CSRF_TOKEN', 'a profile that was not offered')
  const chosen = await send(app, browser, { url: '/api/auth/saml/profile', form: { profile: '42', csrf } })
  t.equal(chosen.statusCode, 302)
  t.equal(chosen.headers.location, '/as/42')
  t.same(upstream.calls.at(-1)!.body, { returnTo: '/queue', profile: '42' })
  t.equal(upstream.calls.at(-1)!.identity!.profile, '42')
})

t.test('metadata, jwks, health and session answer as documented', async (t) => {
  const { app } = await setup(t)
  const metadata = await send(app, newBrowser(), { url: '/api/auth/saml/metadata' })
  t.equal(metadata.statusCode, 200)
  t.match(metadata.headers['content-type'], /application\/samlmetadata\+xml/)
  t.match(metadata.body, /entityID="https:\/\/motion\.example\.com"/)
  t.match(metadata.body, /Location="https:\/\/motion\.example\.com\/api\/auth\/saml\/callback"/)
  const jwks = await send(app, newBrowser(), { url: '/api/auth/saml/jwks.json' })
  t.equal(jwks.json().keys[0].kty, 'OKP')
  t.equal(jwks.json().keys[0].d, undefined, 'no private part')
  const health = await send(app, newBrowser(), { url: '/api/auth/saml/health' })
  t.same(health.json(), { status: 'ok', live: true, ready: true, store: 'ok' })
  const noSession = await send(app, newBrowser(), { url: '/api/auth/saml/session', headers: { accept: 'application/json' } })
  t.equal(noSession.statusCode, 401)
  t.equal(noSession.json().error, 'SESSION_REQUIRED')
})

t.test('session TTL: past GATEWAY_SESSION_TTL the session is gone and login goes to the IdP', async (t) => {
  const { app, clock } = await setup(t, { GATEWAY_SESSION_TTL: '1h' })
  const browser = newBrowser()
  await loginThroughIdp(app, browser)
  clock.now += 61 * 60_000
  const res = await send(app, browser, { url: '/api/auth/saml' })
  t.ok((res.headers.location as string).startsWith(ENTRA_ENTRYPOINT))
})

t.test('nginx auth_request: 204 with an identity bound to the original method and URI, or 401', async (t) => {
  const { app } = await setup(t)
  const anonymous = await send(app, newBrowser(), { url: '/api/auth/saml/auth', headers: { 'x-original-uri': '/reports/1', 'x-original-method': 'GET', 'x-gateway-auth-request': '1' } })
  t.equal(anonymous.statusCode, 401)
  const browser = newBrowser()
  await loginThroughIdp(app, browser)
  const res = await send(app, browser, { url: '/api/auth/saml/auth', headers: { 'x-original-uri': '/reports/1?x=2', 'x-original-method': 'DELETE', 'x-gateway-auth-request': '1' } })
  t.equal(res.statusCode, 204)
  const token = res.headers['x-gateway-identity'] as string
  const { verifyIdentity } = await import('../../../src/identity/verify.js')
  const common = { issuer: 'https://motion.example.com/api/auth/saml', audience: 'http://127.0.0.1', jwks: app.gateway.identityKeys.jwks as never, now: () => TEST_NOW_MS }
  const audience = new URL(app.gateway.config.upstream.loginUrl).origin
  const id = await verifyIdentity({ 'x-gateway-identity': token }, { ...common, audience, method: 'DELETE', url: 'https://motion.example.com/reports/1' })
  t.equal(id.sub, TEST_NAME_ID)
  await t.rejects(verifyIdentity({ 'x-gateway-identity': token }, { ...common, audience, method: 'GET', url: 'https://motion.example.com/reports/1' }), { code: 'IDENTITY_BINDING' })
  await t.rejects(verifyIdentity({ 'x-gateway-identity': token }, { ...common, audience, method: 'DELETE', url: 'https://motion.example.com/admin' }), { code: 'IDENTITY_BINDING' })
  const offsite = await send(app, browser, { url: '/api/auth/saml/auth', headers: { 'x-original-uri': 'https://evil.example/x', 'x-original-method': 'GET', 'x-gateway-auth-request': '1', accept: 'application/json' } })
  t.equal(offsite.statusCode, 400)
})

t.test('with GATEWAY_SP_KEY/GATEWAY_SP_CERT: signed AuthnRequests, both keys in /metadata', async (t) => {
  const { join } = await import('node:path')
  const { REPO_ROOT } = await import('../../helpers/app.js')
  const { app } = await setup(t, { GATEWAY_SP_KEY: join(REPO_ROOT, 'fixtures/sp.key'), GATEWAY_SP_CERT: join(REPO_ROOT, 'fixtures/sp.crt') })
  const res = await send(app, newBrowser(), { url: '/api/auth/saml' })
  const location = new URL(res.headers.location as string)
  t.equal(location.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')
  const signature = location.searchParams.get('Signature')
  t.ok(signature, 'signed')
  const crypto = await import('node:crypto')
  const { readFileSync } = await import('node:fs')
  const raw = (res.headers.location as string).split('?')[1].split('&').filter((p) => !p.startsWith('Signature=')).join('&')
  t.ok(crypto.verify('sha256', Buffer.from(raw), readFileSync(join(REPO_ROOT, 'fixtures/sp.crt'), 'utf8'), Buffer.from(signature!, 'base64')), 'verifies with the SP certificate')
  const metadata = (await send(app, newBrowser(), { url: '/api/auth/saml/metadata' })).body
  t.match(metadata, /AuthnRequestsSigned="true"/)
  t.match(metadata, /<KeyDescriptor use="signing">/)
  t.match(metadata, /<KeyDescriptor use="encryption">/)
})

t.test('the ACS hands the SAMLResponse to the validator as the bytes that came, not decoded on the event loop', async (t) => {
  const seen: unknown[] = []
  const validate: ResponseValidator = (samlResponse, exp, nowMs) => {
    seen.push(samlResponse)
    return validateLoginResponse(samlResponse, exp, nowMs)
  }
  let built: TestApp | undefined
  const upstream = await startUpstream({ issuer: 'https://motion.example.com/api/auth/saml', jwks: () => built!.app.gateway.identityKeys.jwks, now: () => built!.clock.now })
  t.teardown(() => upstream.close())
  built = await buildTestApp(t, { env: { GATEWAY_UPSTREAM_LOGIN_URL: upstream.url, GATEWAY_VALIDATION_WORKERS: '0' }, deps: { validate } })
  const { app } = built
  const browser = newBrowser()
  const start = await send(app, browser, { url: '/api/auth/saml?returnTo=/queue' })
  const { id } = authnRequestOf(start.headers.location as string)
  const samlResponse = buildResponse({ inResponseTo: id, now: TEST_NOW_MS })
  const res = await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse } })
  t.equal(res.statusCode, 302, 'signed in')
  t.equal(seen.length, 1)
  t.ok(isFormEncoded(seen[0]), 'the validator got the form\'s bytes')
  const bytes = Buffer.concat((seen[0] as FormEncoded).formEncoded).toString('latin1')
  t.equal(bytes, encodeURIComponent(samlResponse), 'still percent-encoded')
  t.equal(fieldText(seen[0] as FormEncoded), samlResponse, 'which decode to the response')
})
