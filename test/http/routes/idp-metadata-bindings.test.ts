import t, { type Test } from 'tap'
import samlify from 'samlify'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../../src/config/index.js'
import { buildTestApp, fixture, REPO_ROOT, tempDir } from '../../helpers/app.js'
import { IDP_CERT, IDP_KEY, buildResponse } from '../../helpers/idp.js'
import { authnRequestOf, newBrowser, send } from '../../helpers/login.js'
import { POST, REDIRECT, idpMetadataXml } from '../../helpers/idp-metadata.js'
import { logoutRequestXml, redirectQuery } from '../../helpers/idp-logout.js'

const IDP = 'https://idp.example.org/simplesaml/saml2/idp/metadata.php'
const SSO = 'https://idp.example.org/simplesaml/saml2/idp/SSOService.php'
const SLO = 'https://idp.example.org/simplesaml/saml2/idp/SingleLogoutService.php'
const SP_KEYS = { GATEWAY_SP_KEY: join(REPO_ROOT, 'fixtures/sp.key'), GATEWAY_SP_CERT: join(REPO_ROOT, 'fixtures/sp.crt') }
/** No XC_SAML_ENTRYPOINT, XC_SAML_CERT or GATEWAY_IDP_ISSUER: the metadata says it all. */
const fromMetadataOnly = { XC_SAML_ENTRYPOINT: undefined, XC_SAML_CERT: undefined }

function metadataFile (t: Test, sso: Array<[string, string]>, slo: Array<[string, string]> = []): string {
  const file = join(tempDir(t), 'idp-metadata.xml')
  writeFileSync(file, idpMetadataXml({ entityId: IDP, sso, slo }))
  return file
}

/** The hidden fields and the action of the auto-post page. */
function formOf (html: string): { action: string, fields: Record<string, string> } {
  const action = /<form id="saml-post" method="post" action="([^"]+)">/.exec(html)?.[1]
  if (action === undefined) throw new Error(`no auto-post form in ${html.slice(0, 200)}`)
  const fields: Record<string, string> = {}
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]] = m[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"')
  return { action: action.replace(/&amp;/g, '&'), fields }
}

samlify.setSchemaValidator({ validate: async () => 'skipped: the gateway validated its own XML' })
/** The IdP's own samlify, which checks what the gateway sends it (signatures included). */
function realIdp (): samlify.IdentityProviderInstance {
  return samlify.IdentityProvider({
    entityID: IDP,
    privateKey: IDP_KEY,
    signingCert: IDP_CERT,
    wantAuthnRequestsSigned: true,
    wantLogoutRequestSigned: true,
    singleSignOnService: [{ Binding: POST, Location: SSO }],
    singleLogoutService: [{ Binding: POST, Location: SLO }]
  })
}

t.test('metadata with HTTP-POST only: a signed AuthnRequest posted by an auto-submitting form, login and logout end to end', async (t) => {
  const { app, config } = await buildTestApp(t, {
    env: { ...fromMetadataOnly, ...SP_KEYS, GATEWAY_IDP_METADATA_FILE: metadataFile(t, [[POST, SSO]], [[POST, SLO]]), GATEWAY_NAMEID_FORMAT: 'persistent' }
  })
  t.equal(config.idp.issuers[0], IDP, 'the IdP entity ID from the metadata')
  const browser = newBrowser()
  const start = await send(app, browser, { url: '/api/auth/saml?returnTo=/agent', headers: { accept: 'text/html' } })
  t.equal(start.statusCode, 200)
  t.match(start.headers['content-type'], /text\/html/)
  const csp = String(start.headers['content-security-policy'])
  t.match(csp, /form-action https:\/\/idp\.example\.org(;|$)/, 'the form may post to the IdP only')
  t.match(csp, /script-src 'self'/)
  t.notMatch(csp, /unsafe-inline/)
  t.match(start.body, /<script src="\/api\/auth\/saml\/auto-post\.js" defer><\/script>/)
  t.match(start.body, /<noscript>[\s\S]*<button type="submit">Continue<\/button>[\s\S]*<\/noscript>/, 'works without JavaScript')
  const form = formOf(start.body)
  t.equal(form.action, SSO)
  const xml = Buffer.from(form.fields.SAMLRequest, 'base64').toString()
  t.match(xml, /<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"\/>/)
  t.match(xml, `Destination="${SSO}"`)
  t.match(xml, /<ds:Signature/, 'an enveloped XML signature')

  const metadata = await send(app, browser, { url: '/api/auth/saml/metadata' })
  const sp = samlify.ServiceProvider({ metadata: metadata.body })
  const parsed = await realIdp().parseLoginRequest(sp, 'post', { body: { SAMLRequest: form.fields.SAMLRequest } })
  t.equal(parsed.extract.request?.id, authnRequestIdOf(xml), "the IdP's samlify verified our signature")

  const script = await send(app, browser, { url: '/api/auth/saml/auto-post.js' })
  t.match(script.headers['content-type'], /javascript/)
  t.match(script.body, /getElementById\('saml-post'\)\.submit\(\)/)

  const acs = await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ issuer: IDP, inResponseTo: authnRequestIdOf(xml), nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', nameIdXml: 'p-123' }) } })
  t.not(acs.statusCode, 400, `accepted (${acs.statusCode})`)
  const logout = await send(app, browser, { url: '/api/auth/saml/logout', headers: { accept: 'text/html' } })
  t.equal(logout.statusCode, 200)
  const logoutForm = formOf(logout.body)
  t.equal(logoutForm.action, SLO)
  t.equal(logoutForm.fields.RelayState, config.postLogoutUrl, 'where the person lands afterwards')
  const logoutRequest = await realIdp().parseLogoutRequest(sp, 'post', { body: { SAMLRequest: logoutForm.fields.SAMLRequest } })
  t.equal(logoutRequest.extract.nameID, 'p-123', "the IdP's samlify verified our signed LogoutRequest")
})

t.test('an IdP whose SLO takes HTTP-POST only gets our LogoutResponse by an auto-posted form', async (t) => {
  const { app } = await buildTestApp(t, { env: { ...fromMetadataOnly, GATEWAY_IDP_METADATA_FILE: metadataFile(t, [[POST, SSO]], [[POST, SLO]]) } })
  const browser = newBrowser()
  const start = await send(app, browser, { url: '/api/auth/saml' })
  const id = authnRequestIdOf(Buffer.from(formOf(start.body).fields.SAMLRequest, 'base64').toString())
  await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ issuer: IDP, inResponseTo: id }) } })
  const query = redirectQuery(logoutRequestXml({ id: '_idp_lr_1', issuer: IDP, nameId: 'alice@contoso.com' }), { relayState: 'idp-state' })
  const res = await send(app, browser, { url: `/api/auth/saml/logout/callback?${query}`, headers: { accept: 'text/html' } })
  t.equal(res.statusCode, 200)
  const form = formOf(res.body)
  t.equal(form.action, SLO)
  t.equal(form.fields.RelayState, 'idp-state')
  const xml = Buffer.from(form.fields.SAMLResponse, 'base64').toString()
  t.match(xml, /InResponseTo="_idp_lr_1"/)
  t.match(xml, `Destination="${SLO}"`)
})

t.test('the binding: Redirect when the metadata offers it, POST when GATEWAY_REQUEST_BINDING says so', async (t) => {
  const both = metadataFile(t, [[POST, `${SSO}?post`], [REDIRECT, SSO]])
  const redirect = await buildTestApp(t, { env: { ...fromMetadataOnly, GATEWAY_IDP_METADATA_FILE: both } })
  const viaRedirect = await send(redirect.app, newBrowser(), { url: '/api/auth/saml' })
  t.equal(viaRedirect.statusCode, 302)
  t.equal(new URL(viaRedirect.headers.location as string).origin + new URL(viaRedirect.headers.location as string).pathname, SSO)

  const post = await buildTestApp(t, { env: { ...fromMetadataOnly, GATEWAY_IDP_METADATA_FILE: both, GATEWAY_REQUEST_BINDING: 'post' } })
  const viaPost = await send(post.app, newBrowser(), { url: '/api/auth/saml' })
  t.equal(viaPost.statusCode, 200)
  t.equal(formOf(viaPost.body).action, `${SSO}?post`)

  const entra = await buildTestApp(t, { env: { GATEWAY_REQUEST_BINDING: 'post' } })
  const toEntra = await send(entra.app, newBrowser(), { url: '/api/auth/saml' })
  t.equal(formOf(toEntra.body).action, entra.config.idp.entryPoint, 'without metadata: XC_SAML_ENTRYPOINT by POST')
  t.notMatch(Buffer.from(formOf(toEntra.body).fields.SAMLRequest, 'base64').toString(), /Signature/, 'unsigned without GATEWAY_SP_KEY')
})

t.test('GATEWAY_NAMEID_FORMAT, AllowCreate and the SP metadata', async (t) => {
  const byDefault = await buildTestApp(t)
  const { xml } = authnRequestOf((await send(byDefault.app, newBrowser(), { url: '/api/auth/saml' })).headers.location as string)
  t.match(xml, /<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"\/>/, 'unspecified by default: the IdP decides')
  const email = await buildTestApp(t, { env: { GATEWAY_NAMEID_FORMAT: 'email' } })
  const emailXml = authnRequestOf((await send(email.app, newBrowser(), { url: '/api/auth/saml' })).headers.location as string).xml
  t.match(emailXml, /Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/)

  const metadata = (await send(email.app, newBrowser(), { url: '/api/auth/saml/metadata' })).body
  const formats = [...metadata.matchAll(/<NameIDFormat>([^<]+)<\/NameIDFormat>/g)].map((m) => m[1])
  t.same(formats, [
    'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    'urn:oasis:names:tc:SAML:2.0:nameid-format:transient', 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'
  ], 'every format, the one asked for first')
  t.match(metadata, /<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/)
  t.match(metadata, /<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"/)

  t.throws(() => loadConfig({ env: { ...baseEnvLike(t), GATEWAY_NAMEID_FORMAT: 'kerberos' }, cwd: tempDir(t) }),
    { code: 'CONFIG_INVALID', message: /GATEWAY_NAMEID_FORMAT must be one of email, persistent, transient, unspecified/ })
})

t.test('GATEWAY_IDP_METADATA_URL: the SSO and SLO endpoints come from the metadata fetched at start', async (t) => {
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }); res.end(idpMetadataXml({ entityId: IDP, sso: [[REDIRECT, SSO]], slo: [[REDIRECT, SLO]] })) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const { app } = await buildTestApp(t, { env: { ...fromMetadataOnly, GATEWAY_IDP_METADATA_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata` } })
  const start = await send(app, newBrowser(), { url: '/api/auth/saml' })
  t.equal(start.statusCode, 302)
  t.ok((start.headers.location as string).startsWith(`${SSO}?SAMLRequest=`), 'to the metadata SSO endpoint')
  t.equal(app.gateway.entities.endpoints.slo?.url, SLO, 'single logout from the metadata, without XC_SAML_LOGOUT_URL')
})

t.test('the configuration: metadata makes XC_SAML_ENTRYPOINT and XC_SAML_CERT optional; without it they are required', async (t) => {
  const problems = (env: Record<string, string | undefined>): string[] => {
    try { loadConfig({ env, cwd: tempDir(t) }); return [] } catch (err) { return (err as ConfigError).problems }
  }
  t.same(problems({ ...baseEnvLike(t), ...fromMetadataOnly, GATEWAY_IDP_METADATA_FILE: metadataFile(t, [[POST, SSO]]) }), [])
  t.match(problems({ ...baseEnvLike(t), ...fromMetadataOnly }).join('\n'), /XC_SAML_ENTRYPOINT is required \(or GATEWAY_IDP_METADATA_URL \/ GATEWAY_IDP_METADATA_FILE/)
  t.match(problems({ ...baseEnvLike(t), GATEWAY_IDP_METADATA_FILE: '/nonexistent/idp.xml' }).join('\n'), /GATEWAY_IDP_METADATA_FILE: cannot read \/nonexistent\/idp\.xml/)
  const noCert = join(tempDir(t), 'no-cert.xml')
  writeFileSync(noCert, idpMetadataXml({ entityId: IDP, sso: [[POST, SSO]] }).replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, ''))
  t.match(problems({ ...baseEnvLike(t), GATEWAY_IDP_METADATA_FILE: noCert }).join('\n'), /not usable IdP metadata: it has no signing certificate/)
})

function authnRequestIdOf (xml: string): string {
  return /\sID="([^"]+)"/.exec(xml)![1]
}

function baseEnvLike (t: Test): Record<string, string | undefined> {
  return {
    DOMAIN: 'motion.example.com',
    XC_SAML_ENTRYPOINT: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2',
    XC_SAML_CERT: fixture('idp.crt'),
    XC_SAML_ISSUER: 'https://motion.example.com',
    GATEWAY_UPSTREAM_LOGIN_URL: 'http://127.0.0.1:9/api/login/saml',
    GATEWAY_SESSION_STORE: 'memory',
    GATEWAY_DATA_DIR: tempDir(t)
  }
}
