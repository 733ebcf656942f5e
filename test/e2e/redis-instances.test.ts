// Two gateways on one Redis, as an operator runs them behind nginx: whichever instance answers,
// nobody notices; a replay is caught across instances; an outage is a 503 that heals by itself.
import t, { type Test } from 'tap'
import { buildTestApp, tempDir, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'
import { needsTools, redisMissing } from '../helpers/tools.js'
import { startUpstream } from '../helpers/upstream.js'
import { buildResponse, TEST_NAME_ID } from '../helpers/idp.js'
import { authnRequestOf, loginThroughIdp, newBrowser, send } from '../helpers/login.js'
import { logoutRequestXml, redirectQuery } from '../helpers/idp-logout.js'

needsTools(redisMissing())
const redis = await startRedis()
t.teardown(() => redis.stop())

async function twoInstances (t: Test): Promise<{ a: TestApp, b: TestApp }> {
  let a: TestApp | undefined
  const upstream = await startUpstream({ issuer: 'https://motion.example.com/api/auth/saml', jwks: () => a!.app.gateway.identityKeys.jwks, now: () => a!.clock.now })
  t.teardown(() => upstream.close())
  const env = {
    GATEWAY_SESSION_STORE: 'redis',
    GATEWAY_REDIS_URL: redis.url,
    GATEWAY_DATA_DIR: tempDir(t),
    GATEWAY_UPSTREAM_LOGIN_URL: upstream.url,
    XC_SAML_LOGOUT_URL: 'https://login.microsoftonline.com/tenant/saml2'
  }
  a = await buildTestApp(t, { env })
  const b = await buildTestApp(t, { env })
  return { a, b }
}
const json = { accept: 'application/json' }

t.test('AuthnRequest made on A, response posted to B: logged in; the same response again on A: a replay', async (t) => {
  const { a, b } = await twoInstances(t)
  const browser = newBrowser()
  const start = await send(a.app, browser, { url: '/api/auth/saml' })
  const { id } = authnRequestOf(start.headers.location as string)
  const samlResponse = buildResponse({ inResponseTo: id })
  const onB = await send(b.app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse } })
  t.equal(onB.statusCode, 302, 'logged in on B')
  t.equal((await send(a.app, browser, { url: '/api/auth/saml/session' })).statusCode, 200, 'A knows the session made on B')
  const again = await send(a.app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse }, headers: json })
  t.equal(again.statusCode, 400)
  t.equal(again.json().error, 'SAML_REPLAY')
})

t.test('50 concurrent posts of one response, split across A and B: exactly one accepted', async (t) => {
  const { a, b } = await twoInstances(t)
  const browser = newBrowser()
  const start = await send(a.app, browser, { url: '/api/auth/saml' })
  const samlResponse = buildResponse({ inResponseTo: authnRequestOf(start.headers.location as string).id })
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    send(i % 2 === 0 ? a.app : b.app, { jar: { ...browser.jar } }, { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse }, headers: json })))
  const accepted = results.filter((r) => r.statusCode === 302)
  const codes = new Set(results.filter((r) => r.statusCode !== 302).map((r) => `${r.statusCode} ${r.json().error}`))
  t.equal(accepted.length, 1, 'exactly one login')
  t.same([...codes], ['400 SAML_REPLAY'], 'every other one a replay')
})

t.test('an IdP LogoutRequest arriving at B ends a session created on A', async (t) => {
  const { a, b } = await twoInstances(t)
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(a.app, browser, { sessionIndex: 'on-a' })
  t.equal(acs.statusCode, 302)
  const res = await send(b.app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutRequestXml({ nameId: TEST_NAME_ID }))}` })
  t.equal(res.statusCode, 302)
  t.equal((await send(a.app, browser, { url: '/api/auth/saml/session', headers: json })).statusCode, 401, 'gone on A too')
})

t.test('Redis stops: 503 with STORE_UNAVAILABLE, /health not ready, no crash; Redis back: logins work again', async (t) => {
  const { a } = await twoInstances(t)
  const browser = newBrowser()
  await loginThroughIdp(a.app, browser)
  await redis.stop()
  const health = await send(a.app, newBrowser(), { url: '/api/auth/saml/health' })
  t.equal(health.statusCode, 503)
  t.equal(health.json().ready, false)
  t.equal((await send(a.app, newBrowser(), { url: '/api/auth/saml/health/live' })).statusCode, 200, 'still live: no reason to restart it')
  const login = await send(a.app, newBrowser(), { url: '/api/auth/saml', headers: json })
  t.equal(login.statusCode, 503)
  t.equal(login.json().error, 'STORE_UNAVAILABLE')
  const page = await send(a.app, browser, { url: '/api/auth/saml', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 503, 'a request with a session cookie: 503 too')
  t.match(page.body, /STORE_UNAVAILABLE/)
  const acs = await send(a.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null }) }, headers: json })
  t.equal(acs.statusCode, 503)

  await redis.restart()
  // The client reconnects in the background; poll /health (bounded) rather than sleep.
  let ready = false
  for (let i = 0; i < 100 && !ready; i++) {
    ready = (await send(a.app, newBrowser(), { url: '/api/auth/saml/health' })).statusCode === 200
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(ready, 'ready again without a restart of the gateway')
  const { acs: again } = await loginThroughIdp(a.app, newBrowser())
  t.equal(again.statusCode, 302, 'a new login works')
})
