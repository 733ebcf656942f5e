import t, { type Test } from 'tap'
import samlify from 'samlify'
import { inflateRawSync } from 'node:zlib'
import { join } from 'node:path'
import { REPO_ROOT, type TestApp } from '../../helpers/app.js'
import { buildWithUpstreams, IDP_SLO, type TestAppWithUpstreams } from '../../helpers/upstream.js'
import { IDP_CERT, IDP_KEY, TEST_NAME_ID } from '../../helpers/idp.js'
import { loginThroughIdp, newBrowser, send, type Browser } from '../../helpers/login.js'
import { ENTRA_LOGOUT_ISSUER, logoutRequestXml, logoutResponseXml, postValue, redirectQuery, SLO_URL } from '../../helpers/idp-logout.js'

const json = { accept: 'application/json' }

type Setup = TestAppWithUpstreams
const setup = async (t: Test, env: Record<string, string> = {}): Promise<Setup> => await buildWithUpstreams(t, env)

async function signedIn (app: TestApp['app'], sessionIndex: string, nameId = TEST_NAME_ID): Promise<Browser> {
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(app, browser, { sessionIndex, nameIdXml: nameId, assertionId: `_a${sessionIndex}${Math.random().toString(16).slice(2)}` })
  if (acs.statusCode !== 302) throw new Error(`login failed: ${acs.statusCode} ${acs.body}`)
  return browser
}
const hasSession = async (app: TestApp['app'], browser: Browser) => (await send(app, browser, { url: '/api/auth/saml/session', headers: json })).statusCode === 200

t.test('SP-initiated logout without an IdP SLO URL: the session is gone, straight to the post-logout page', async (t) => {
  const { app } = await setup(t, { XC_SAML_LOGOUT_URL: '' })
  const browser = await signedIn(app, 's1')
  const res = await send(app, browser, { url: '/api/auth/saml/logout' })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/api/auth/saml/signed-out', "the gateway's own Signed out page")
  t.notOk(await hasSession(app, browser))
})

t.test('SP-initiated logout with an IdP SLO URL: LogoutRequest with NameID and SessionIndex, answered once', async (t) => {
  const { app } = await setup(t)
  const browser = await signedIn(app, 'idx-42')
  const res = await send(app, browser, { url: '/api/auth/saml/logout', method: 'POST' })
  t.equal(res.statusCode, 302)
  const location = new URL(res.headers.location as string)
  t.equal(location.origin + location.pathname, IDP_SLO)
  const xml = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString()
  t.match(xml, new RegExp(`<saml:NameID[^>]*>${TEST_NAME_ID}</saml:NameID>`))
  t.match(xml, /<samlp:SessionIndex>idx-42<\/samlp:SessionIndex>/)
  t.notOk(await hasSession(app, browser), 'local session destroyed first')
  const id = /ID="([^"]+)"/.exec(xml)![1]

  const wrong = await send(app, browser, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: '_not_ours' }), { type: 'SAMLResponse' })}`, headers: json })
  t.equal(wrong.statusCode, 400)
  t.equal(wrong.json().error, 'SAML_LOGOUT_IN_RESPONSE_TO')

  const answer = await send(app, browser, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: id }), { type: 'SAMLResponse', relayState: '/bye' })}` })
  t.equal(answer.statusCode, 302)
  t.equal(answer.headers.location, '/bye')
  const again = await send(app, browser, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: id }), { type: 'SAMLResponse' })}`, headers: json })
  t.equal(again.json().error, 'SAML_LOGOUT_IN_RESPONSE_TO', 'consumed once')

  const foreign = await send(app, browser, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: id, issuer: 'https://evil.example/' }), { type: 'SAMLResponse' })}`, headers: json })
  t.equal(foreign.json().error, 'SAML_LOGOUT_ISSUER')
})

t.test('IdP LogoutRequest, Redirect binding, signed over lower-case percent-encoding: every session of the NameID ends', async (t) => {
  const { app, logouts } = await setup(t)
  const browsers = [await signedIn(app, 'a'), await signedIn(app, 'b'), await signedIn(app, 'c')]
  const bystander = await signedIn(app, 'z', 'bob@contoso.com')
  const query = redirectQuery(logoutRequestXml({ id: '_entra_lr_1', nameId: TEST_NAME_ID }), { relayState: 'entra/state+1' })
  t.match(query, /%2b|%3d|%2f/, 'the query carries lower-case escapes')
  const res = await send(app, browsers[0], { url: `/api/auth/saml/logout/callback?${query}` })
  t.equal(res.statusCode, 302)
  for (const b of browsers) t.notOk(await hasSession(app, b), 'session gone')
  t.ok(await hasSession(app, bystander), "another person's session stays")
  t.equal(logouts.calls.length, 3, 'the upstream was told of each session')
  t.equal(logouts.calls[0].identityError, undefined, 'with a verified identity')
  t.equal(logouts.calls[0].identity!.sub, TEST_NAME_ID)
  t.ok(logouts.calls[0].identity!.sid)

  const location = new URL(res.headers.location as string)
  t.equal(location.origin + location.pathname, IDP_SLO)
  t.equal(location.searchParams.get('RelayState'), 'entra/state+1')
  const xml = inflateRawSync(Buffer.from(location.searchParams.get('SAMLResponse')!, 'base64')).toString()
  t.match(xml, /InResponseTo="_entra_lr_1"/)
  t.match(xml, /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"\/><\/samlp:Status>/)
})

t.test('an IdP LogoutRequest naming a SessionIndex ends only that session', async (t) => {
  const { app } = await setup(t)
  const first = await signedIn(app, 'keep-me')
  const second = await signedIn(app, 'end-me')
  const res = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutRequestXml({ nameId: TEST_NAME_ID, sessionIndexes: ['end-me'] }))}` })
  t.equal(res.statusCode, 302)
  t.ok(await hasSession(app, first))
  t.notOk(await hasSession(app, second))
})

t.test('unsigned, or signed by another key: refused, and no session ends', async (t) => {
  const { app, logouts } = await setup(t)
  const browser = await signedIn(app, 's')
  const xml = logoutRequestXml({ nameId: TEST_NAME_ID })
  const unsigned = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(xml, { signer: 'none' })}`, headers: json })
  t.equal(unsigned.statusCode, 400)
  t.equal(unsigned.json().error, 'SAML_LOGOUT_UNSIGNED')
  const forged = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(xml, { signer: 'attacker' })}`, headers: json })
  t.equal(forged.json().error, 'SAML_SIGNATURE')
  const reencoded = redirectQuery(xml).replace(/%[0-9a-f]{2}/g, (m) => m.toUpperCase())
  const changed = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${reencoded}`, headers: json })
  t.equal(changed.json().error, 'SAML_SIGNATURE', 'the signature covers the octets as sent: re-encoding breaks it')
  const postUnsigned = await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { SAMLRequest: postValue(xml, { signer: 'none' }) }, headers: json })
  t.equal(postUnsigned.json().error, 'SAML_LOGOUT_UNSIGNED')
  const postForged = await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { SAMLRequest: postValue(xml, { signer: 'attacker' }) }, headers: json })
  t.equal(postForged.json().error, 'SAML_SIGNATURE')
  t.ok(await hasSession(app, browser), 'the session is still there')
  t.equal(logouts.calls.length, 0)
})

t.test('unsigned IdP LogoutRequests are accepted only with GATEWAY_REQUIRE_SIGNED_LOGOUT=false', async (t) => {
  const { app } = await setup(t, { GATEWAY_REQUIRE_SIGNED_LOGOUT: 'false' })
  const browser = await signedIn(app, 's')
  const res = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutRequestXml({ nameId: TEST_NAME_ID }), { signer: 'none' })}` })
  t.equal(res.statusCode, 302)
  t.notOk(await hasSession(app, browser))
})

t.test('IdP LogoutRequest over the POST binding, XML-signed', async (t) => {
  const { app } = await setup(t)
  const browser = await signedIn(app, 's')
  const res = await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { SAMLRequest: postValue(logoutRequestXml({ nameId: TEST_NAME_ID })) } })
  t.equal(res.statusCode, 302)
  t.notOk(await hasSession(app, browser))
})

t.test('when the upstream cannot be told, the LogoutResponse says PartialLogout', async (t) => {
  const { app, logouts } = await setup(t)
  logouts.answer = (_h, res) => { res.writeHead(500); res.end() }
  await signedIn(app, 's')
  const res = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutRequestXml({ nameId: TEST_NAME_ID }))}` })
  const xml = inflateRawSync(Buffer.from(new URL(res.headers.location as string).searchParams.get('SAMLResponse')!, 'base64')).toString()
  t.match(xml, /status:Success"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:PartialLogout"\/>/)
})

t.test("with an SP key, our LogoutResponse is signed and the IdP's samlify verifies it", async (t) => {
  const { app } = await setup(t, { GATEWAY_SP_KEY: join(REPO_ROOT, 'fixtures/sp.key'), GATEWAY_SP_CERT: join(REPO_ROOT, 'fixtures/sp.crt') })
  await signedIn(app, 's')
  const res = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutRequestXml({ id: '_lr_signed', nameId: TEST_NAME_ID }))}` })
  t.equal(res.statusCode, 302)
  const location = res.headers.location as string
  const url = new URL(location)
  t.ok(url.searchParams.get('Signature'), 'signed')

  samlify.setSchemaValidator({ validate: async () => 'skipped: the gateway validated its own XML' })
  const spCert = (await import('node:fs')).readFileSync(join(REPO_ROOT, 'fixtures/sp.crt'), 'utf8')
  const idp = samlify.IdentityProvider({
    entityID: ENTRA_LOGOUT_ISSUER,
    privateKey: IDP_KEY,
    signingCert: IDP_CERT,
    wantLogoutResponseSigned: true,
    singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: IDP_SLO }],
    singleLogoutService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: IDP_SLO }]
  })
  const sp = samlify.ServiceProvider({
    entityID: 'https://motion.example.com',
    signingCert: spCert,
    wantLogoutResponseSigned: true,
    singleLogoutService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: SLO_URL }]
  })
  const query = Object.fromEntries(url.searchParams.entries())
  const parsed = await idp.parseLogoutResponse(sp, 'redirect', { query, octetString: location.slice(location.indexOf('?') + 1).split('&').filter((p) => !p.startsWith('Signature=')).join('&') })
  t.equal(parsed.extract.response?.inResponseTo, '_lr_signed')
  t.equal(parsed.extract.issuer, 'https://motion.example.com')
})
