// The real world: Debian's Chromium, through nginx over https (a Motion-like site with
// deploy/nginx/saml-gateway.conf included: test/e2e/motion-site.conf), to the
// gateway, the demo IdP and the stand-in Motion. Each journey asserts on what the page shows and
// ends with a screenshot in test-results/screenshots/<journey>.png.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchChromium, missingTools, screenshot } from './_chromium.js'
import { startProduction, type Production } from './_production.js'
import { needsTools } from '../helpers/tools.js'

// CI installs them (.ci/run, npm test's pretest) and fails without them; elsewhere one skip line.
needsTools(missingTools())
// eslint-disable-next-line no-lone-blocks -- the journeys, as indented when they were the else branch
{
  t.test('in Chromium, through nginx, over https', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'saml-gateway-browser-'))
    // Chromium starts while the servers do; everything closes browser first, folder last.
    const launching = launchChromium()
    let prod: Production | undefined
    t.teardown(async () => {
      await (await launching.catch(() => undefined))?.close()
      await prod?.close()
      rmSync(dir, { recursive: true, force: true })
    })
    prod = await startProduction(dir)
    const browser = await launching
    const { origin, idp } = prod

    // Alice's browser: journeys a, b and d share it.
    const alice = await newContext(browser)
    const aliceIdpRequests = idpRequestsOf(alice, idp.url)

    t.test('(a) Motion → "Login with SAML" → the IdP form → Alice → Motion, signed in as Alice', async (t) => {
      const page = await alice.newPage()
      await page.goto(`${origin}/`)
      await visible(page, 'You are not signed in.')
      await page.getByRole('link', { name: 'Login with SAML' }).click()
      await page.waitForURL((url) => url.origin === idp.url && url.pathname === '/saml/sso')
      await page.getByRole('heading', { name: 'Sign in' }).waitFor()
      await page.getByLabel(/Alice Agent/).check()
      await Promise.all([
        page.waitForURL(`${origin}/`),
        page.getByRole('button', { name: 'Sign in' }).click()
      ])
      await visible(page, /^Signed in as Alice Agent\.$/)
      t.match(await mainText(page), /Motion user\s+Alice Agent \(#101, agent\)/)
      t.match(await mainText(page), /alice@contoso\.example/)

      const session = await alice.request.get(`${origin}/api/auth/saml/session`, { headers: { accept: 'application/json' } })
      t.equal(session.status(), 200, 'the gateway has a session')
      t.equal((await session.json()).nameId, 'alice@contoso.example')
      const cookies = await alice.cookies(origin)
      t.ok(cookies.some((c) => c.name === '__Host-saml_gateway_session' && c.secure && c.httpOnly), 'the gateway session cookie: __Host-, Secure, HttpOnly')
      t.ok(cookies.some((c) => c.name === 'motion_session'), 'Motion has its own session')
      t.same(aliceIdpRequests, ['/saml/sso', '/saml/login', '/saml/autopost.js'], 'the IdP: AuthnRequest, the form, the auto-post script')
      await screenshot(page, 'a-login-alice')
      await page.close()
    })

    t.test('(b) Motion again, in a new page: signed in, and no trip to the IdP', async (t) => {
      const before = { browser: aliceIdpRequests.length, idp: idp.requests.length }
      const page = await alice.newPage()
      await page.goto(`${origin}/`)
      await visible(page, /^Signed in as Alice Agent\.$/)

      // Motion's session ends (its cookie gone), the gateway's lives on: the button goes straight through.
      await alice.clearCookies({ name: 'motion_session' })
      await page.reload()
      await visible(page, 'You are not signed in.')
      await page.getByRole('link', { name: 'Login with SAML' }).click()
      await visible(page, /^Signed in as Alice Agent\.$/)
      t.equal(new URL(page.url()).origin, origin)
      t.equal(aliceIdpRequests.length, before.browser, 'the browser made no request to the IdP')
      t.equal(idp.requests.length, before.idp, 'the IdP received none')

      // nginx auth_request (the Motion site's /reports/): the gateway's session lets Alice through.
      const report = await alice.request.get(`${origin}/reports/week`, { maxRedirects: 0 })
      t.equal(report.status(), 404, 'auth_request: the gateway said yes, Motion answered (it has no such page)')
      t.match(await report.text(), /Motion has no page at \/reports\/week/)
      const stranger = await newContext(browser)
      const refused = await stranger.request.get(`${origin}/reports/week`, { maxRedirects: 0 })
      t.equal(refused.status(), 302, 'auth_request without a session: to the login')
      t.equal(refused.headers().location, `${origin}/api/auth/saml?returnTo=/reports/week`)
      await stranger.close()
      await screenshot(page, 'b-session-reuse')
      await page.close()
    })

    t.test('(c) Carol: the multi-login chooser, by keyboard → the administrator profile', async (t) => {
      const carol = await newContext(browser)
      t.teardown(() => carol.close())
      const page = await carol.newPage()
      await page.goto(`${origin}/`)
      await page.getByRole('link', { name: 'Login with SAML' }).click()
      await page.getByLabel(/Carol Multi/).check()
      await Promise.all([
        page.waitForURL(`${origin}/api/auth/saml/callback`),
        page.getByRole('button', { name: 'Sign in' }).click()
      ])
      await page.getByRole('heading', { name: 'Choose a profile' }).waitFor()
      t.ok(await page.getByLabel(/Carol Multi \(agent\)/).isChecked(), 'the first profile is preselected')
      await screenshot(page, 'c-multi-login-chooser')

      // Tab to the radio group, arrow to the second profile, Space, Tab to Continue, Enter.
      for (let i = 0; i < 10 && await focusedName(page) !== 'profile'; i++) await page.keyboard.press('Tab')
      t.equal(await focusedName(page), 'profile', 'Tab reaches the profiles')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('Space')
      t.ok(await page.getByLabel(/Carol Multi \(administrator\)/).isChecked(), 'the administrator profile is chosen')
      await page.keyboard.press('Tab')
      t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Continue', 'Tab reaches Continue')
      await Promise.all([page.waitForURL(`${origin}/`), page.keyboard.press('Enter')])
      await visible(page, /^Signed in as Carol Multi\.$/)
      t.match(await mainText(page), /Motion user\s+Carol Multi \(administrator\) \(#104, admin\)/)
      t.equal(prod.motion.logins.at(-1)?.profile, '104', 'the identity carried the chosen profile')
      await screenshot(page, 'c-multi-login-carol')
    })

    t.test('(d) sign out from Motion: Motion, gateway and IdP sessions end; back on Motion', async (t) => {
      const sloBefore = sloCount(prod)
      const motionSessions = prod.motion.sessions.size
      const page = await alice.newPage()
      await page.goto(`${origin}/`)
      await visible(page, /^Signed in as Alice Agent\.$/)
      await page.getByRole('link', { name: 'Sign out' }).click()
      // The gateway's own page says so (GATEWAY_POST_LOGOUT_URL's default).
      await page.waitForURL(`${origin}/api/auth/saml/signed-out`)
      await visible(page, 'You are signed out of the application.')
      await screenshot(page, 'd-signed-out')
      await page.goto(`${origin}/`)
      await visible(page, 'You are not signed in.')

      t.equal(sloCount(prod), sloBefore + 1, "the IdP's SLO endpoint was reached once")
      t.ok(aliceIdpRequests.some((path) => path === '/saml/slo'), 'by this browser')
      t.equal(prod.motion.sessions.size, motionSessions - 1, "Motion's session is gone")
      t.notOk((await alice.cookies(origin)).some((c) => c.name === 'motion_session'), 'and its cookie')
      const session = await alice.request.get(`${origin}/api/auth/saml/session`, { headers: { accept: 'application/json' } })
      t.equal(session.status(), 401, 'the gateway has no session any more')
      t.notOk((await alice.cookies(origin)).some((c) => c.name === '__Host-saml_gateway_session'), 'and the browser has no gateway cookie')

      // And a new login goes back to the IdP.
      await page.getByRole('link', { name: 'Login with SAML' }).click()
      await page.waitForURL((url) => url.origin === idp.url && url.pathname === '/saml/sso')
      await page.goto(`${origin}/`)
      await visible(page, 'You are not signed in.')
      await screenshot(page, 'd-logout')
      await page.close()
    })

    t.test('(e) IdP-initiated ("Test" button): the IdP posts unasked → signed in as Bob', async (t) => {
      const bob = await newContext(browser)
      t.teardown(() => bob.close())
      const page = await bob.newPage()
      await page.goto(idp.idpInitiatedUrl('bob'))
      await page.waitForURL(`${origin}/`)
      await visible(page, /^Signed in as Bob Supervisor\.$/)
      t.match(await mainText(page), /Motion user\s+Bob Supervisor \(#102, supervisor\)/)
      await screenshot(page, 'e-idp-initiated-bob')
    })

    t.test('nginx: the routes, the http redirect, what a client may not send', async (t) => {
      const gatewayPort = new URL(prod.gatewayUrl).port
      const samlRequests = prod.nginx.access().filter((e) => e.uri.startsWith('/api/auth/saml'))
      t.ok(samlRequests.length >= 10, `${samlRequests.length} requests under /api/auth/saml`)
      t.same(samlRequests.filter((e) => !e.upstream.endsWith(`:${gatewayPort}`)), [], 'all of them served by the gateway itself')
      t.equal(prod.misrouted(), 0, "none through the stand-in Motion's own proxy")
      t.ok(samlRequests.some((e) => e.method === 'POST' && e.uri === '/api/auth/saml/callback' && e.protocol === 'HTTP/2.0'), 'the ACS POST arrived over HTTP/2')
      t.ok(prod.nginx.access().some((e) => e.uri === '/' && e.upstream.endsWith(`:${new URL(prod.motion.url).port}`)), 'Motion served its pages')

      const plain = await request(`${prod.nginx.httpOrigin}/api/auth/saml?returnTo=/`)
      await plain.body.dump()
      t.equal(plain.statusCode, 301)
      t.equal(plain.headers.location, 'https://127.0.0.1/api/auth/saml?returnTo=/', 'http → https, path and query kept')

      // Too big for the gateway, not for nginx: the gateway's own coded answer, not nginx's 413 page.
      const big = await alice.request.post(`${origin}/api/auth/saml/callback`, {
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        data: `SAMLResponse=${'A'.repeat(300 * 1024)}`
      })
      t.equal(big.status(), 413)
      t.equal((await big.json()).error, 'SAML_TOO_LARGE', "the gateway's answer")

      const page = await alice.newPage()
      const home = await page.goto(`${origin}/`)
      t.equal(home?.headers()['strict-transport-security'], 'max-age=63072000; includeSubDomains', 'HSTS, subdomains included')
      const handoff = await page.goto(`${origin}/api/login/saml`)
      t.equal(handoff?.status(), 404, 'the handoff endpoint is not reachable from outside')
      const metrics = await page.goto(`${origin}/api/auth/saml/metrics`)
      t.equal(metrics?.status(), 404, 'nor the metrics')
      await page.close()
      t.equal(prod.nginx.errorLog().split('\n').filter((line) => /\[(error|crit|alert|emerg)\]/.test(line)).join('\n'), '', 'nginx logged no error')
    })
  })
}

function newContext (browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 700 } })
}

/** The paths this browser context asked of the IdP, in order. */
function idpRequestsOf (context: BrowserContext, idpUrl: string): string[] {
  const paths: string[] = []
  context.on('request', (req) => {
    const url = new URL(req.url())
    if (url.origin === idpUrl) paths.push(url.pathname)
  })
  return paths
}

const sloCount = (prod: Production): number => prod.idp.requests.filter((r) => r.path === '/saml/slo').length

async function visible (page: Page, text: string | RegExp): Promise<void> {
  await page.getByText(text).first().waitFor({ state: 'visible' })
}

const mainText = (page: Page): Promise<string> => page.locator('main').innerText()

const focusedName = (page: Page): Promise<string | null | undefined> => page.evaluate(() => document.activeElement?.getAttribute('name'))
