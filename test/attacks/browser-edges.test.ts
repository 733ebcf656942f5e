// The browser-facing edges of the gateway, attacked: open redirects through returnTo and RelayState,
// session fixation, the flags of every cookie it sets, X-Gateway-* headers a client sends, and the
// identity token replayed elsewhere or later.
import t from 'tap'
import { inflateRawSync } from 'node:zlib'
import { verifyIdentity, createMemoryJtiCache } from '../../src/identity/verify.js'
import { safeReturnTo } from '../../src/sp/return-to.js'
import { cookiesOf } from '../helpers/app.js'
import { buildResponse, entraClaims, esc, TEST_NOW } from '../helpers/idp.js'
import { logoutRequestXml, logoutResponseXml, redirectQuery } from '../helpers/idp-logout.js'
import { authnRequestOf, loginThroughIdp, newBrowser, send, type Browser } from '../helpers/login.js'
import { ATTACKER, VICTIM } from './_generator.js'
import { harness, type Harness } from './_harness.js'

const ORIGIN = 'https://motion.example.com'
const json = { accept: 'application/json' }

/** Every way of spelling "somewhere else" we know of. */
const OFFSITE = [
  '//evil.example', '///evil.example', '/\\evil.example', '\\/evil.example', 'https://evil.example/', 'http://motion.example.com/',
  'javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<script>alert(1)</script>',
  '%2F%2Fevil.example', '%2f%2fevil.example', '/%5Cevil.example', '%5C%5Cevil.example', ' //evil.example', '\t//evil.example',
  '/\t/evil.example', '/\n/evil.example', '/.//evil.example', '/..//evil.example', '/x/..//evil.example', '/%2e//evil.example',
  `${ORIGIN}//evil.example`, `${ORIGIN}/.//evil.example`, `${ORIGIN}@evil.example/`, 'https://evil.example#@motion.example.com',
  'https:evil.example', 'https:/evil.example', '//evil.example%2F%2E%2E', `//${'a'.repeat(3000)}`
]

/** Where a browser would go with this Location (or returnTo): only paths of this site are fine. */
function staysOnSite (landing: string | undefined): boolean {
  if (landing === undefined) return true
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (!landing.startsWith('/') || landing.startsWith('//') || /[\\\u0000-\u001f]/.test(landing)) return false
  return new URL(landing, ORIGIN).origin === ORIGIN
}

t.test('safeReturnTo: every off-site spelling is dropped, on-site paths are kept', async (t) => {
  for (const value of OFFSITE) t.ok(staysOnSite(safeReturnTo(value, ORIGIN)), `${JSON.stringify(value.slice(0, 60))} → ${JSON.stringify(safeReturnTo(value, ORIGIN))}`)
  t.equal(safeReturnTo('/queue?tab=2#x', ORIGIN), '/queue?tab=2#x')
  t.equal(safeReturnTo(`${ORIGIN}/reports`, ORIGIN), '/reports')
  t.equal(safeReturnTo('/%2F%2Fevil.example', ORIGIN), '/%2F%2Fevil.example', 'an encoded slash stays a path of this site')
})

t.test('open redirect: returnTo and RelayState never lead off-site, on any route', async (t) => {
  const h = await harness(t)
  const signedIn = newBrowser()
  await loginThroughIdp(h.app, signedIn)
  for (const evil of OFFSITE) {
    const label = JSON.stringify(evil.slice(0, 60))
    // Login without a session: the AuthnRequest remembers where to land; the handoff says it.
    const { acs } = await loginThroughIdp(h.app, newBrowser(), {}, evil)
    t.equal(acs.statusCode, 302, `${label}: SP-initiated login works`)
    t.ok(staysOnSite(h.upstream.calls.at(-1)!.body.returnTo as string), `${label}: SP-initiated returnTo`)
    // IdP-initiated, RelayState.
    await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null }), RelayState: evil } })
    t.ok(staysOnSite(h.upstream.calls.at(-1)!.body.returnTo as string), `${label}: RelayState`)
    // A LogoutResponse's RelayState is where the gateway itself redirects.
    const out = newBrowser()
    await loginThroughIdp(h.app, out)
    const toIdp = await send(h.app, out, { url: `/api/auth/saml/logout?returnTo=${encodeURIComponent(evil)}` })
    const requestId = /ID="([^"]+)"/.exec(inflated(toIdp.headers.location as string))![1]
    const back = await send(h.app, out, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: requestId }), { type: 'SAMLResponse', relayState: evil })}` })
    t.ok(staysOnSite(back.headers.location as string), `${label}: LogoutResponse RelayState → ${String(back.headers.location)}`)
  }
})

t.test('open redirect: the logout landing (no IdP SLO URL) never leads off-site', async (t) => {
  const h = await harness(t, { XC_SAML_LOGOUT_URL: '' })
  for (const evil of OFFSITE) {
    const res = await send(h.app, newBrowser(), { url: `/api/auth/saml/logout?returnTo=${encodeURIComponent(evil)}` })
    t.ok(staysOnSite(res.headers.location as string), `${JSON.stringify(evil.slice(0, 60))} → Location ${String(res.headers.location)}`)
  }
})

t.test('open redirect: returnTo on a login that finds a live session', async (t) => {
  const h = await harness(t)
  const browser = newBrowser()
  await loginThroughIdp(h.app, browser)
  for (const evil of OFFSITE) {
    await send(h.app, browser, { url: `/api/auth/saml?returnTo=${encodeURIComponent(evil)}` })
    const sent = h.upstream.calls.at(-1)!.body.returnTo as string
    t.ok(staysOnSite(sent), `${JSON.stringify(evil.slice(0, 60))} → ${JSON.stringify(sent.slice(0, 60))}`)
  }
})

/** A login that goes to the IdP whatever the browser carries (forceAuthn=1), as `nameId`. */
async function loginAs (h: Harness, browser: Browser, nameId: string) {
  const start = await send(h.app, browser, { url: '/api/auth/saml?forceAuthn=1' })
  const { id } = authnRequestOf(start.headers.location as string)
  return await send(h.app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: id, nameIdXml: esc(nameId), attributes: entraClaims(nameId) }) } })
}

t.test('session fixation: no session id from before the login is the one after it', async (t) => {
  const h = await harness(t)
  // The attacker signs in as himself and plants his own (validly signed) session cookie in the
  // victim's browser; the victim then signs in.
  const attacker = newBrowser()
  await loginAs(h, attacker, ATTACKER)
  const planted = attacker.jar['__Host-saml_gateway_session']
  t.ok(planted, 'the attacker has a session cookie')
  for (const how of ['SP-initiated', 'IdP-initiated'] as const) {
    const victim: Browser = { jar: { '__Host-saml_gateway_session': planted } }
    const acs = how === 'SP-initiated'
      ? await loginAs(h, victim, VICTIM)
      : await send(h.app, victim, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null, nameIdXml: esc(VICTIM), attributes: entraClaims(VICTIM) }) } })
    t.equal(acs.statusCode, 302, `${how}: signed in`)
    const issued = cookiesOf(acs)['__Host-saml_gateway_session']
    t.ok(issued !== undefined && issued !== planted, `${how}: a new session id`)
    t.equal((await send(h.app, victim, { url: '/api/auth/saml/session', headers: json })).json().nameId, VICTIM, `${how}: the victim's own session`)
    const attackersView = await send(h.app, attacker, { url: '/api/auth/saml/session', headers: json })
    t.not(attackersView.json().nameId, VICTIM, `${how}: the planted id never becomes the victim's session`)
    t.equal(attackersView.statusCode, 401, `${how}: the planted session is gone (regenerated away)`)
  }
  // A chosen value (unsigned, or signed with another secret) is not even read.
  for (const chosen of ['chosen-by-attacker', 'chosen.c2lnbmF0dXJl']) {
    const acs = await loginAs(h, { jar: { '__Host-saml_gateway_session': chosen } }, VICTIM)
    t.not(cookiesOf(acs)['__Host-saml_gateway_session'], chosen, `${chosen}: replaced`)
  }
})

t.test('every Set-Cookie of the gateway: HttpOnly, Secure, SameSite as designed, Path', async (t) => {
  const h = await harness(t)
  const seen: string[] = []
  const record = (res: { headers: Record<string, unknown> }) => seen.push(...([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []))
  const browser = newBrowser()
  const { start, acs } = await loginThroughIdp(h.app, browser)
  record(start); record(acs)
  record(await send(h.app, browser, { url: '/api/auth/saml?forceAuthn=1' }))
  record(await send(h.app, browser, { url: '/api/auth/saml/logout' }))
  const other = newBrowser()
  await loginThroughIdp(h.app, other, { sessionIndex: 'slo-me' })
  record(await send(h.app, other, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutRequestXml({ nameId: 'alice@contoso.com', sessionIndexes: ['slo-me'] }))}` }))

  const ours = seen.filter((c) => c.startsWith('__Host-saml_gateway_'))
  t.ok(ours.some((c) => c.startsWith('__Host-saml_gateway_session=')) && ours.some((c) => c.startsWith('__Host-saml_gateway_request=')), 'both cookies seen, with the __Host- prefix')
  t.ok(ours.some(isDeletion), 'and a deletion of the session cookie (logout)')
  for (const cookie of ours) {
    const [name] = cookie.split('=')
    const attrs = attributesOf(cookie)
    const label = cookie.replace(/=[^;]*/, '=…')
    if (!isDeletion(cookie)) {
      t.ok(attrs.includes('httponly'), `${label}: HttpOnly`)
      t.ok(attrs.includes('secure'), `${label}: Secure`)
    }
    t.notOk(attrs.some((a) => a.startsWith('domain=')), `${label}: no Domain (__Host-)`)
    if (name === '__Host-saml_gateway_request' || name === '__Host-saml_gateway_person') {
      t.ok(attrs.includes('samesite=none'), `${label}: SameSite=None (it must survive the IdP's cross-site POST)`)
      t.ok(attrs.includes('path=/'), `${label}: Path=/ (__Host-)`)
    } else {
      t.ok(attrs.includes('samesite=lax'), `${label}: SameSite=Lax`)
      t.ok(attrs.includes('path=/'), `${label}: Path=/ (nginx auth_request sees it on every page; a deletion must match it)`)
    }
  }
  const deletions = ours.filter(isDeletion)
  t.ok(deletions.length > 0, 'logout deletes the session cookie')
  for (const cookie of deletions) {
    for (const flag of ['httponly', 'secure']) t.ok(attributesOf(cookie).includes(flag), `the deletion cookie of logout: ${flag}`)
  }
})

const attributesOf = (cookie: string): string[] => cookie.split(';').slice(1).map((a) => a.trim().toLowerCase())
const isDeletion = (cookie: string): boolean => /^[^=]+=;/.test(cookie) || attributesOf(cookie).includes('max-age=0')

t.test('X-Gateway-* headers from the client never reach the upstream, in any spelling', async (t) => {
  const h = await harness(t)
  const forged = {
    'X-Gateway-Identity': 'forged.token.value',
    'x-gateway-user': 'admin',
    X_Gateway_Identity: 'forged.by.underscore',
    'X-GATEWAY-ROLES': 'admin',
    x_gateway_email: 'admin@contoso.com',
    'x-gateway-identity ': 'trailing-space'
  }
  const browser = newBrowser()
  const start = await send(h.app, browser, { url: '/api/auth/saml?returnTo=/a', headers: forged })
  const { id } = authnRequestOf(start.headers.location as string)
  await send(h.app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: id }) }, headers: forged })
  await send(h.app, browser, { url: '/api/auth/saml?returnTo=/b', headers: forged }) // a live session: straight to the handoff
  const duplicated = await h.app.inject({ method: 'GET', url: '/api/auth/saml?returnTo=/c', headers: { 'x-forwarded-proto': 'https', cookie: `__Host-saml_gateway_session=${browser.jar['__Host-saml_gateway_session']}`, 'x-gateway-identity': ['one', 'two'] as unknown as string } })
  t.equal(duplicated.statusCode, 302)
  t.equal(h.upstream.calls.length, 3, 'three handoffs')
  for (const call of h.upstream.calls) {
    const names = Object.keys(call.headers).filter((n) => /^x[-_]gateway/i.test(n.replace(/\s/g, '')))
    t.same(names, ['x-gateway-identity'], 'only the one header the gateway made')
    t.equal(typeof call.headers['x-gateway-identity'], 'string', 'one value')
    t.equal(call.identityError, undefined, 'and it verifies')
    t.notOk(JSON.stringify(call.headers).includes('forged') || JSON.stringify(call.headers).includes('admin'), 'nothing forged arrived')
  }
  // nginx auth_request: the gateway answers with its own header only.
  const auth = await send(h.app, browser, { url: '/api/auth/saml/auth', headers: { ...forged, 'x-original-uri': '/x', 'x-original-method': 'GET', 'x-gateway-auth-request': '1' } })
  t.equal(auth.statusCode, 204)
  t.not(auth.headers['x-gateway-identity'], 'forged.token.value')
  t.same(Object.keys(auth.headers).filter((n) => /gateway/i.test(n)), ['x-gateway-identity'])
})

t.test('the identity token: refused on another URL or method, after 60 s, or a second time', async (t) => {
  const h: Harness = await harness(t)
  await loginThroughIdp(h.app, newBrowser())
  const headers = h.upstream.calls[0].headers as Record<string, string>
  const base = {
    issuer: 'https://motion.example.com/api/auth/saml',
    audience: new URL(h.upstream.url).origin,
    method: 'POST',
    url: h.upstream.url,
    jwks: h.app.gateway.identityKeys.jwks as never
  }
  const at = (ms: number) => ({ now: () => TEST_NOW + ms })
  t.equal((await verifyIdentity(headers, { ...base, ...at(0) })).sub, 'alice@contoso.com', 'accepted where and when it was made for')
  await t.rejects(verifyIdentity(headers, { ...base, ...at(0), url: 'http://127.0.0.1:1/api/admin' }), { code: 'IDENTITY_BINDING' }, 'another URL')
  await t.rejects(verifyIdentity(headers, { ...base, ...at(0), url: `${h.upstream.url.replace('127.0.0.1', 'localhost')}` }), { code: 'IDENTITY_BINDING' }, 'another host')
  await t.rejects(verifyIdentity(headers, { ...base, ...at(0), method: 'DELETE' }), { code: 'IDENTITY_BINDING' }, 'another method')
  await t.rejects(verifyIdentity(headers, { ...base, ...at(60_001), clockToleranceSeconds: 0 }), { code: 'IDENTITY_EXPIRED' }, 'after 60 s (no tolerance)')
  await t.rejects(verifyIdentity(headers, { ...base, ...at(65_001) }), { code: 'IDENTITY_EXPIRED' }, 'after 60 s plus the default 5 s tolerance')
  const jtiCache = createMemoryJtiCache({ now: () => TEST_NOW })
  await verifyIdentity(headers, { ...base, ...at(0), jtiCache })
  await t.rejects(verifyIdentity(headers, { ...base, ...at(1000), jtiCache }), { code: 'IDENTITY_REPLAY' }, 'a second time, with a jti cache')
})

function inflated (location: string): string {
  return inflateRawSync(Buffer.from(new URL(location).searchParams.get('SAMLRequest')!, 'base64')).toString()
}
