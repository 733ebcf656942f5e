// The gateway attacked at its browser-facing edges, each attack made for real over HTTP (inject):
// /auth minting tokens for a browser, tossed cookies, login and logout CSRF, an attacker's text on
// an error page, a forged X-Forwarded-For. Each attack asserts the gateway resists; the outcomes
// are the second table of SECURITY.md (UPDATE_SECURITY_MD=1 rewrites it; otherwise any change fails).
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { Writable } from 'node:stream'
import { REPO_ROOT, buildResponse, buildResponseXml, entraClaims, esc, toBase64 } from '../helpers/idp.js'
import { authnRequestOf, loginThroughIdp, newBrowser, send, type Browser } from '../helpers/login.js'
import { buildTestApp, baseEnv } from '../helpers/app.js'
import { loadConfig } from '../../src/config/index.js'
import { ATTACKER, VICTIM } from './_attack.js'
import { harness, type Harness } from './_harness.js'

const SECURITY_MD = path.join(REPO_ROOT, 'SECURITY.md')
const START = '<!-- http-attack-table:start (written by test/attacks/http-attacks.test.ts with UPDATE_SECURITY_MD=1; do not edit by hand) -->'
const END = '<!-- http-attack-table:end -->'
const IDP_ORIGIN = 'https://login.microsoftonline.com'
const json = { accept: 'application/json' }
const rows: Array<{ id: string, attack: string, outcome: string }> = []

const sessionOf = async (h: Harness, browser: Browser): Promise<string | undefined> => {
  const res = await send(h.app, browser, { url: '/api/auth/saml/session', headers: json })
  return res.statusCode === 200 ? res.json().nameId as string : undefined
}
const signIn = async (h: Harness, nameId: string, browser = newBrowser()): Promise<Browser> => {
  const { acs } = await loginThroughIdp(h.app, browser, { nameIdXml: esc(nameId), attributes: entraClaims(nameId) })
  if (acs.statusCode !== 302) throw new Error(`sign-in failed: ${acs.statusCode} ${acs.body}`)
  return browser
}
const unsolicited = (nameId: string): string => buildResponse({ inResponseTo: null, nameIdXml: esc(nameId), attributes: entraClaims(nameId) })
const outcome = (res: { statusCode: number, headers: Record<string, unknown>, body: string }): string => {
  const code = /"error":"([A-Z_]+)"/.exec(res.body)?.[1] ?? /<dt>Code<\/dt><dd><code>([A-Z_]+)</.exec(res.body)?.[1]
  return `${res.statusCode}${code !== undefined ? ` ${code}` : ''}`
}

t.test('item 3: /auth mints no token for a browser', async (t) => {
  const h = await harness(t)
  const victim = await signIn(h, VICTIM)
  const forged = await send(h.app, victim, { url: '/api/auth/saml/auth', headers: { 'x-original-method': 'DELETE', 'x-original-uri': '/api/users/1', ...json } })
  t.equal(forged.statusCode, 403)
  t.equal(forged.json().error, 'AUTH_SUBREQUEST_ONLY')
  t.equal(forged.headers['x-gateway-identity'], undefined, 'no token')
  rows.push({ id: 'auth-from-browser', attack: 'a signed-in browser calls `/auth` with its own `X-Original-Method: DELETE` and `X-Original-URI: /api/users/1`', outcome: `${outcome(forged)}, no token` })
  for (const missing of ['x-original-method', 'x-original-uri', 'x-gateway-auth-request']) {
    const headers: Record<string, string> = { 'x-original-method': 'GET', 'x-original-uri': '/x', 'x-gateway-auth-request': '1', ...json }
    delete headers[missing]
    const res = await send(h.app, victim, { url: '/api/auth/saml/auth', headers })
    t.equal(res.statusCode, 403, `without ${missing}`)
    t.equal(res.headers['x-gateway-identity'], undefined)
  }
  const nginx = await send(h.app, victim, { url: '/api/auth/saml/auth', headers: { 'x-original-method': 'GET', 'x-original-uri': '/x', 'x-gateway-auth-request': '1' } })
  t.equal(nginx.statusCode, 204, "nginx's internal subrequest still gets its token")
  t.equal(nginx.headers['cache-control'], 'no-store')
  t.ok(nginx.headers['x-gateway-identity'])
  rows.push({ id: 'auth-from-nginx', attack: "(control) nginx's internal subrequest: all three headers", outcome: `${outcome(nginx)}, token, Cache-Control: no-store` })
})

t.test('item 4: cookies a sibling subdomain tosses are not read', async (t) => {
  const h = await harness(t)
  // Login CSRF by cookie tossing: the attacker starts a login in its own browser, has the IdP answer
  // it for its own account, tosses its binding cookie into the victim's browser (Domain=.example.com:
  // sent first) and auto-posts the response from the victim's browser.
  const attacker = newBrowser()
  const start = await send(h.app, attacker, { url: '/api/auth/saml' })
  const { id } = authnRequestOf(start.headers.location as string)
  const attackersBinding = attacker.jar['__Host-saml_gateway_request']
  t.ok(attackersBinding, 'the binding cookie is __Host-saml_gateway_request')
  const victim = newBrowser()
  await send(h.app, victim, { url: '/api/auth/saml' }) // the victim has a login of its own under way
  const tossed = await h.app.inject({
    method: 'POST',
    url: '/api/auth/saml/callback',
    headers: {
      'x-forwarded-proto': 'https',
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      cookie: `saml_gateway_request=${attackersBinding}; __Host-saml_gateway_request=${victim.jar['__Host-saml_gateway_request']}`
    },
    payload: new URLSearchParams({ SAMLResponse: buildResponse({ inResponseTo: id, nameIdXml: esc(ATTACKER), attributes: entraClaims(ATTACKER) }) }).toString()
  })
  t.equal(tossed.statusCode, 400)
  t.equal(tossed.json().error, 'SAML_IN_RESPONSE_TO', 'the tossed binding is not this browser\'s')
  t.equal(h.upstream.calls.length, 0, 'nobody signed in')
  rows.push({ id: 'toss-binding-cookie', attack: "login CSRF: the attacker's binding cookie tossed from a sibling subdomain (sent first), its own IdP-signed answer posted", outcome: outcome(tossed) })

  const tossedSession = (await signIn(h, ATTACKER)).jar['__Host-saml_gateway_session']
  const fixed = await h.app.inject({ method: 'GET', url: '/api/auth/saml/session', headers: { 'x-forwarded-proto': 'https', accept: 'application/json', cookie: `saml_gateway_session=${tossedSession}` } })
  t.equal(fixed.statusCode, 401, "a tossed session cookie (the attacker's own, validly signed) is not read")
  rows.push({ id: 'toss-session-cookie', attack: "session fixation: the attacker's own valid session cookie tossed under the unprefixed name", outcome: outcome(fixed) })

  // The victim's own login survives a tossed cookie of the same name.
  const own = newBrowser()
  const begun = await send(h.app, own, { url: '/api/auth/saml' })
  const ownId = authnRequestOf(begun.headers.location as string).id
  const survived = await h.app.inject({
    method: 'POST',
    url: '/api/auth/saml/callback',
    headers: { 'x-forwarded-proto': 'https', 'content-type': 'application/x-www-form-urlencoded', cookie: `saml_gateway_request=${attackersBinding}; __Host-saml_gateway_request=${own.jar['__Host-saml_gateway_request']}` },
    payload: new URLSearchParams({ SAMLResponse: buildResponse({ inResponseTo: ownId }) }).toString()
  })
  t.equal(survived.statusCode, 302, "the victim's own login works beside the tossed cookie")
})

t.test('item 5: an unsolicited response never switches a browser silently', async (t) => {
  const h = await harness(t)
  const fresh = newBrowser()
  const crossSite = await send(h.app, fresh, { url: '/api/auth/saml/callback', form: { SAMLResponse: unsolicited(ATTACKER) }, headers: { origin: 'https://evil.example' } })
  t.equal(crossSite.statusCode, 200, 'a confirmation page')
  t.match(crossSite.body, /Continue as mallory@contoso\.com/)
  t.equal(fresh.jar['__Host-saml_gateway_session'], undefined, 'no session yet')
  t.equal(h.upstream.calls.length, 0, 'no handoff')
  rows.push({ id: 'login-csrf-cross-site', attack: "an attacker's own unsolicited response auto-posted from another site (`Origin: https://evil.example`) to a browser with no session", outcome: `${outcome(crossSite)}: a confirmation page, no session` })

  const forgedConfirm = await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { continue: /name="continue" value="([^"]+)"/.exec(crossSite.body)?.[1] ?? '' }, headers: json })
  t.equal(forgedConfirm.json().error, 'CSRF_TOKEN', 'the confirmation cannot be posted from a browser without the pending cookie')
  rows.push({ id: 'login-csrf-confirm-forged', attack: 'the confirmation form posted by another browser (token known, no pending cookie)', outcome: outcome(forgedConfirm) })

  const victim = await signIn(h, VICTIM)
  const handoffs = h.upstream.calls.length
  const switchPerson = await send(h.app, victim, { url: '/api/auth/saml/callback', form: { SAMLResponse: unsolicited(ATTACKER) }, headers: { origin: IDP_ORIGIN } })
  t.equal(switchPerson.statusCode, 200, 'a confirmation page')
  t.match(switchPerson.body, /signed in as someone else/)
  t.equal(await sessionOf(h, victim), VICTIM, 'the victim is still the victim')
  t.equal(h.upstream.calls.length, handoffs, 'no handoff')
  rows.push({ id: 'login-csrf-switch-person', attack: "an attacker's unsolicited response (even from the IdP's origin) to a browser signed in as someone else", outcome: `${outcome(switchPerson)}: a confirmation page, the session unchanged` })

  const confirmed = await send(h.app, victim, { url: '/api/auth/saml/callback', form: { continue: /name="continue" value="([^"]+)"/.exec(switchPerson.body)?.[1] ?? '' }, headers: { 'sec-fetch-site': 'same-origin' } })
  t.equal(confirmed.statusCode, 302, 'the person who clicks "Continue" is signed in as asked')
  t.equal(await sessionOf(h, victim), ATTACKER)

  const testButton = newBrowser()
  const fromIdp = await send(h.app, testButton, { url: '/api/auth/saml/callback', form: { SAMLResponse: unsolicited(VICTIM) }, headers: { origin: IDP_ORIGIN } })
  t.equal(fromIdp.statusCode, 302, "Entra's Test button and My Apps: straight in")
  t.equal(await sessionOf(h, testButton), VICTIM)
  const again = await send(h.app, testButton, { url: '/api/auth/saml/callback', form: { SAMLResponse: unsolicited(VICTIM) }, headers: { origin: IDP_ORIGIN } })
  t.equal(again.statusCode, 302, 'the same person again: straight in')
  rows.push({ id: 'login-idp-initiated', attack: "(control) Entra's Test button / My Apps: unsolicited response from the IdP's origin, same person or nobody signed in", outcome: `${outcome(fromIdp)}: signed in, no click` })
})

t.test('item 6: a cross-site logout asks first', async (t) => {
  const h = await harness(t)
  const victim = await signIn(h, VICTIM)
  const crossGet = await send(h.app, victim, { url: '/api/auth/saml/logout', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(crossGet.statusCode, 200, 'a confirmation page')
  t.equal(await sessionOf(h, victim), VICTIM, 'still signed in')
  rows.push({ id: 'logout-csrf-get', attack: 'a cross-site link or image to `GET /logout` (`Sec-Fetch-Site: cross-site`)', outcome: `${outcome(crossGet)}: a confirmation page, still signed in` })
  const crossPost = await send(h.app, victim, { url: '/api/auth/saml/logout', form: { returnTo: '/x' }, headers: { origin: 'https://evil.example' } })
  t.equal(crossPost.statusCode, 200)
  t.equal(await sessionOf(h, victim), VICTIM, 'still signed in')
  rows.push({ id: 'logout-csrf-post', attack: 'a cross-site form posting to `/logout` without the token (older browser: `Origin` only)', outcome: `${outcome(crossPost)}: a confirmation page, still signed in` })
  const token = /name="csrf" value="([^"]+)"/.exec(crossGet.body)?.[1] ?? ''
  const button = await send(h.app, victim, { url: '/api/auth/saml/logout', form: { csrf: token }, headers: { 'sec-fetch-site': 'same-origin' } })
  t.equal(button.statusCode, 302, 'the button signs out')
  t.equal(await sessionOf(h, victim), undefined)
  const again = await signIn(h, VICTIM)
  const sameSite = await send(h.app, again, { url: '/api/auth/saml/logout', headers: { 'sec-fetch-site': 'same-origin' } })
  t.equal(sameSite.statusCode, 302, "Motion's own logout link: straight out")
  t.equal(await sessionOf(h, again), undefined)
  rows.push({ id: 'logout-same-site', attack: "(control) Motion's own logout link (`Sec-Fetch-Site: same-origin`)", outcome: `${outcome(sameSite)}: signed out` })
})

t.test('item 9: an error page says only what the gateway wrote', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const h = await buildTestApp(t, { env: { GATEWAY_LOG_LEVEL: 'info', GATEWAY_RATE_LIMIT: '0' }, deps: { logger: { stream } } })
  const evil = `urn:evil:<script>alert(1)</script>${'x'.repeat(2000)}`
  const xml = buildResponseXml({ inResponseTo: null }).replace('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', esc(evil))
  for (const accept of ['text/html', 'application/json']) {
    const res = await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: toBase64(xml) }, headers: { accept } })
    t.equal(res.statusCode, 400)
    t.notMatch(res.body, /evil|script|alert/, `${accept}: none of the attacker's text, escaped or not`)
    t.match(res.body, /SAML_WEAK_ALGORITHM/)
    t.match(res.body, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'the correlation id')
    if (accept === 'text/html') rows.push({ id: 'error-page-attacker-text', attack: 'an attacker\'s `<script>` and 2,000 characters in a SignatureMethod Algorithm URI', outcome: `${outcome(res)}: the code's fixed wording and the correlation id; the URI only in the log, cut to 300 characters` })
  }
  const logged = lines.map((l) => JSON.parse(l) as { code?: string, detail?: string }).find((l) => l.code === 'SAML_WEAK_ALGORITHM')
  t.ok(logged?.detail?.includes('urn:evil:<script>'), 'the detail is in the log')
  t.ok((logged?.detail?.length ?? 0) <= 300, `cut to a sane length (${logged?.detail?.length ?? 0})`)
})

t.test('item 11: X-Forwarded-For is believed only from the configured proxies', async (t) => {
  t.throws(() => loadConfig({ env: baseEnv({ GATEWAY_TRUST_PROXY: 'true' }) }), /GATEWAY_TRUST_PROXY must list the addresses of the proxies.*every hop/)
  t.throws(() => loadConfig({ env: baseEnv({ GATEWAY_TRUST_PROXY: '2' }) }), /hop count/)
  t.equal(loadConfig({ env: baseEnv({ GATEWAY_TRUST_PROXY: '10.0.0.5, 192.168.0.0/16, loopback' }) }).trustProxy, '10.0.0.5,192.168.0.0/16,loopback')
  const { app } = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '3/min' } })
  const codes: number[] = []
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'GET', url: '/api/auth/saml', remoteAddress: '198.51.100.7', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': `192.0.2.${i}`, ...json } })
    codes.push(res.statusCode)
  }
  t.same(codes, [302, 302, 302, 429, 429], 'a client that reaches the gateway directly cannot buy new counts with X-Forwarded-For')
  rows.push({ id: 'xff-invented', attack: 'a client reaching the gateway directly (not through a configured proxy) sends a new `X-Forwarded-For` with every login', outcome: `${codes.join(', ')}: counted by its own address` })
  const viaNginx = await app.inject({ method: 'GET', url: '/api/auth/saml', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.99', ...json } })
  t.equal(viaNginx.statusCode, 302, 'through the proxy (loopback), the address it reports counts')
})

t.test('the table in SECURITY.md', async (t) => {
  const table = ['| id | attack | answer |', '|---|---|---|', ...rows.map((r) => `| \`${r.id}\` | ${r.attack.replace(/\|/g, '\\|')} | ${r.outcome.replace(/\|/g, '\\|')} |`)].join('\n')
  const markdown = fs.readFileSync(SECURITY_MD, 'utf8')
  const start = markdown.indexOf(START)
  const end = markdown.indexOf(END)
  if (process.env.UPDATE_SECURITY_MD === '1') {
    const updated = start === -1 || end === -1
      ? `${markdown.trimEnd()}\n\n${START}\n${table}\n${END}\n`
      : `${markdown.slice(0, start + START.length)}\n${table}\n${markdown.slice(end)}`
    fs.writeFileSync(SECURITY_MD, updated)
    t.pass('SECURITY.md: browser-edge attack table rewritten')
    return
  }
  t.ok(start !== -1 && end !== -1, 'SECURITY.md has the table markers')
  t.equal(markdown.slice(start + START.length, end).trim(), table, 'the outcomes are the ones SECURITY.md records (UPDATE_SECURITY_MD=1 to rewrite)')
})
