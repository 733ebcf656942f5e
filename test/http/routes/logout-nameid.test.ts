import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { inflateRawSync } from 'node:zlib'
import { buildTestApp } from '../../helpers/app.js'
import { TEST_NAME_ID } from '../../helpers/idp.js'
import { loginThroughIdp, newBrowser, send } from '../../helpers/login.js'
import { logoutResponseXml, redirectQuery } from '../../helpers/idp-logout.js'
import { IDP_SLO } from '../../helpers/upstream.js'

const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'
const PARTIAL = 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout'
const RESPONDER = 'urn:oasis:names:tc:SAML:2.0:status:Responder'

async function setup (t: Test) {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const built = await buildTestApp(t, { env: { XC_SAML_LOGOUT_URL: IDP_SLO, GATEWAY_LOG_LEVEL: 'info' }, deps: { logger: { stream } } })
  return { ...built, lines }
}

/** Signed in with a qualified persistent NameID, as Lasso and Shibboleth send it; then SP-initiated logout. */
async function logoutRequestOf (app: Awaited<ReturnType<typeof setup>>['app']) {
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(app, browser, {
    nameIdXml: 'x7Kq3vZ0pLm', nameIdFormat: PERSISTENT, nameQualifier: 'https://idp.example.org/idp', spNameQualifier: 'https://motion.example.com', sessionIndex: 'idx-7'
  })
  if (acs.statusCode !== 302 && acs.statusCode !== 502) throw new Error(`login failed: ${acs.statusCode} ${acs.body}`)
  const res = await send(app, browser, { url: '/api/auth/saml/logout' })
  const location = new URL(res.headers.location as string)
  const xml = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString()
  return { browser, xml, id: /ID="([^"]+)"/.exec(xml)![1] }
}

t.test('the LogoutRequest names the subject exactly as the assertion did: Format, NameQualifier, SPNameQualifier', async (t) => {
  const { app } = await setup(t)
  const { xml } = await logoutRequestOf(app)
  const nameId = /<saml:NameID([^>]*)>([^<]*)<\/saml:NameID>/.exec(xml)
  t.ok(nameId, 'a NameID')
  t.equal(nameId![2], 'x7Kq3vZ0pLm')
  t.match(nameId![1], ` Format="${PERSISTENT}"`)
  t.match(nameId![1], ' NameQualifier="https://idp.example.org/idp"')
  t.match(nameId![1], ' SPNameQualifier="https://motion.example.com"')
  t.match(xml, /<samlp:SessionIndex>idx-7<\/samlp:SessionIndex>/)
})

t.test('a NameID that came without qualifiers or Format goes back without them', async (t) => {
  const { app } = await setup(t)
  const browser = newBrowser()
  await loginThroughIdp(app, browser, { nameIdFormat: null, sessionIndex: null })
  const res = await send(app, browser, { url: '/api/auth/saml/logout' })
  const xml = inflateRawSync(Buffer.from(new URL(res.headers.location as string).searchParams.get('SAMLRequest')!, 'base64')).toString()
  t.match(xml, `<saml:NameID>${TEST_NAME_ID}</saml:NameID>`)
  t.notMatch(xml, /SessionIndex/)
})

t.test('a non-Success LogoutResponse: a warning in the log, and a page that says the IdP may still have a session', async (t) => {
  for (const status of [RESPONDER, PARTIAL]) {
    const { app, lines } = await setup(t)
    const { browser, id } = await logoutRequestOf(app)
    const answer = await send(app, browser, {
      url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: id, status }), { type: 'SAMLResponse', relayState: '/bye' })}`,
      headers: { accept: 'text/html' }
    })
    t.equal(answer.statusCode, 200, `${status}: no redirect as if all were well`)
    t.match(answer.body, /signed out of this application, but the identity provider did not confirm/)
    t.match(answer.body, /SAML_LOGOUT_NOT_CONFIRMED/)
    t.match(answer.body, /href="\/bye"/, 'then on to the post-logout page')
    const warning = lines.find((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED')
    t.equal(warning?.level, 40, 'logged at warn')
    t.equal(warning?.status, status, 'with the status the IdP sent')
    t.equal(warning?.inResponseTo, id)
  }
})

t.test('a Success LogoutResponse still goes straight to the post-logout page', async (t) => {
  const { app, lines } = await setup(t)
  const { browser, id } = await logoutRequestOf(app)
  const answer = await send(app, browser, { url: `/api/auth/saml/logout/callback?${redirectQuery(logoutResponseXml({ inResponseTo: id }), { type: 'SAMLResponse', relayState: '/bye' })}` })
  t.equal(answer.statusCode, 302)
  t.equal(answer.headers.location, '/bye')
  t.notOk(lines.some((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED'))
})
