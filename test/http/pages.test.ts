// The pages a person meets besides the sign-in itself: every error page has a working "Sign in
// again" link, sign-out errors are headed as such, a sign-out ends on a "Signed out" page, the
// Reply URL opened by hand explains itself, and the profile chooser says who is signed in and
// offers a way out.
import t, { type Test } from 'tap'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startUpstream, type StubUpstream } from '../helpers/upstream.js'
import { TEST_NAME_ID } from '../helpers/idp.js'
import { loginThroughIdp, newBrowser, send } from '../helpers/login.js'

const html = { accept: 'text/html' }
const SIGN_IN_AGAIN = /<a class="button" href="\/api\/auth\/saml\/\?returnTo=%2F">Sign in again<\/a>/

async function setup (t: Test, env: Record<string, string> = {}): Promise<TestApp & { upstream: StubUpstream }> {
  let app: TestApp | undefined
  const upstream = await startUpstream({ issuer: 'https://motion.example.com/api/auth/saml', jwks: () => app!.app.gateway.identityKeys.jwks, now: () => app!.clock.now })
  t.teardown(() => upstream.close())
  app = await buildTestApp(t, { env: { GATEWAY_UPSTREAM_LOGIN_URL: upstream.url, ...env } })
  return { ...app, upstream }
}

t.test('every error page links to a fresh sign-in, and the link works', async (t) => {
  const { app } = await setup(t)
  const browser = newBrowser()
  const pages = [
    await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: 'bm90IHhtbA==' } }),
    await send(app, browser, { url: '/api/auth/saml/session', headers: html }),
    await send(app, browser, { url: '/api/auth/saml/nowhere', headers: html }),
    await send(app, browser, { url: '/api/auth/saml/profile', form: { profile: '1' }, headers: html })
  ]
  for (const page of pages) {
    t.ok(page.statusCode >= 400, `an error (${page.statusCode})`)
    t.match(page.body, SIGN_IN_AGAIN, `${page.statusCode}: "Sign in again" link`)
  }
  const again = await send(app, browser, { url: '/api/auth/saml/?returnTo=%2F' })
  t.equal(again.statusCode, 302, 'the link starts a sign-in')
  t.match(String(again.headers.location), /SAMLRequest=/)
})

t.test('an error at the sign-out endpoint is headed "Sign-out failed"', async (t) => {
  const { app } = await setup(t)
  const res = await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback?SAMLRequest=bm90IGEgbWVzc2FnZQ', headers: html })
  t.ok(res.statusCode >= 400 && res.statusCode < 500)
  t.match(res.body, /<h1>Sign-out failed<\/h1>/)
  t.notMatch(res.body, /Sign-in failed/)
  t.match(res.body, SIGN_IN_AGAIN)
})

t.test('a sign-out ends on the "Signed out" page', async (t) => {
  const { app } = await setup(t, { XC_SAML_LOGOUT_URL: '' })
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(app, browser)
  t.equal(acs.statusCode, 302)
  const out = await send(app, browser, { url: '/api/auth/saml/logout' })
  t.equal(out.headers.location, '/api/auth/saml/signed-out')
  const page = await send(app, browser, { url: String(out.headers.location), headers: html })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<h1>Signed out<\/h1>/)
  t.match(page.body, /You are signed out/)
  t.match(page.body, SIGN_IN_AGAIN)
})

t.test('the Reply URL opened directly explains what it is', async (t) => {
  const { app } = await setup(t)
  const res = await send(app, newBrowser(), { url: '/api/auth/saml/callback', headers: html })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'POST')
  t.match(res.body, /<h1>This is the sign-in return address<\/h1>/)
  t.match(res.body, /sends your browser here/)
  t.match(res.body, /href="\/api\/auth\/saml\/\?returnTo=%2F">Sign in</)
  t.notMatch(res.body, /Not found/)
})

t.test('the profile chooser names the signed-in account and offers "Sign out"', async (t) => {
  const { app, upstream } = await setup(t)
  upstream.answer = (_h, res) => {
    res.writeHead(300, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ profiles: [{ id: '17', label: 'Alice (agent)' }, { id: '42', label: 'Alice (supervisor)' }] }))
  }
  const { acs } = await loginThroughIdp(app, newBrowser())
  t.equal(acs.statusCode, 200)
  t.match(acs.body, `You are signed in as ${TEST_NAME_ID}`)
  t.match(acs.body, /<a class="button" href="\/api\/auth\/saml\/logout">Sign out<\/a>/)
})
