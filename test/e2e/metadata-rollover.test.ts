// Entra's certificate rollover without a restart: a local HTTP server plays Entra's federation
// metadata endpoint and rolls from certificate A to A+B to B.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { buildTestApp, tempDir } from '../helpers/app.js'
import { startUpstream } from '../helpers/upstream.js'
import { ATTACKER_CERT, IDP_CERT, TEST_IDP_ISSUER, TEST_NOW } from '../helpers/idp.js'
import { loginThroughIdp, newBrowser } from '../helpers/login.js'
import { parseIdpMetadata, isoDurationMs } from '../../src/sp/read/idp-metadata.js'
import { refreshDelay } from '../../src/runtime/idp-trust.js'

const certA = IDP_CERT // signs with fixtures/idp.key
const certB = ATTACKER_CERT // "the IdP's next key": fixtures/attacker.key
const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '')

function metadata (certs: string[], extra = ''): string {
  const keys = certs.map((c) => `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${body(c)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`).join('')
  return `<?xml version="1.0" encoding="utf-8"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" ID="_m" entityID="${TEST_IDP_ISSUER}"${extra}>` +
    `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}<KeyDescriptor use="encryption"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${body(certB)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>` +
    '<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonline.com/t/saml2"/>' +
    '<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonline.com/t/saml2"/></IDPSSODescriptor></EntityDescriptor>'
}

t.test('logins follow the IdP metadata: A, then A+B, then B only, without a restart', async (t) => {
  const served = { xml: metadata([certA]), status: 200 }
  const server = createServer((_req, res) => { res.writeHead(served.status, { 'content-type': 'application/samlmetadata+xml' }); res.end(served.xml) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const metadataUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/federationmetadata.xml`

  let built: Awaited<ReturnType<typeof buildTestApp>> | undefined
  const upstream = await startUpstream({ issuer: 'https://motion.example.com/api/auth/saml', jwks: () => built!.app.gateway.identityKeys.jwks, now: () => built!.clock.now })
  t.teardown(() => upstream.close())
  const dataDir = tempDir(t)
  // No XC_SAML_CERT: the certificates come from the metadata alone.
  built = await buildTestApp(t, { env: { XC_SAML_CERT: undefined, GATEWAY_IDP_METADATA_URL: metadataUrl, GATEWAY_DATA_DIR: dataDir, GATEWAY_UPSTREAM_LOGIN_URL: upstream.url } })
  const { app } = built
  const login = async (signer: 'idp' | 'attacker') => (await loginThroughIdp(app, newBrowser(), { signer })).acs

  t.equal((await login('idp')).statusCode, 302, 'A works')
  t.equal((await login('attacker')).statusCode, 400, 'B is not trusted yet')
  t.ok(existsSync(join(dataDir, 'idp-metadata.xml')), 'the last good copy is kept on disk')

  served.xml = metadata([certA, certB])
  await app.gateway.idpTrust.refresh()
  t.equal((await login('idp')).statusCode, 302, 'A still works during the rollover')
  t.equal((await login('attacker')).statusCode, 302, 'B works')

  served.xml = metadata([certB])
  await app.gateway.idpTrust.refresh()
  t.equal((await login('attacker')).statusCode, 302, 'B works')
  const a = await login('idp')
  t.equal(a.statusCode, 400, 'A stopped working')
  t.match(a.body, /SAML_SIGNATURE/)

  // A broken or empty metadata never drops the trust to zero.
  served.xml = metadata([])
  await app.gateway.idpTrust.refresh()
  t.equal(app.gateway.idpTrust.lastRefresh?.ok, false)
  served.status = 503
  await app.gateway.idpTrust.refresh()
  t.equal((await login('attacker')).statusCode, 302, 'B still trusted after failed refreshes')
})

t.test('at start, an unreachable IdP falls back to the last good copy on disk', async (t) => {
  const server = createServer((_req, res) => { res.end(metadata([certB])) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m.xml`
  const dataDir = tempDir(t)
  const first = await buildTestApp(t, { env: { XC_SAML_CERT: undefined, GATEWAY_IDP_METADATA_URL: url, GATEWAY_DATA_DIR: dataDir } })
  await first.app.close()
  await new Promise((resolve) => server.close(resolve))
  const second = await buildTestApp(t, { env: { XC_SAML_CERT: undefined, GATEWAY_IDP_METADATA_URL: url, GATEWAY_DATA_DIR: dataDir } })
  t.equal(second.app.gateway.idpTrust.lastRefresh?.ok, false, 'the fetch failed')
  t.same(second.app.gateway.idpTrust.certs.map(body), [body(certB)], 'the cached copy is trusted')
})

t.test('cacheDuration and validUntil set the refresh interval, within bounds', async (t) => {
  t.equal(isoDurationMs('PT1H'), 3_600_000)
  t.equal(isoDurationMs('P1DT30M'), 86_400_000 + 1_800_000)
  t.equal(isoDurationMs('bogus'), undefined)
  const parsed = parseIdpMetadata(metadata([certA, certB], ' cacheDuration="PT2H" validUntil="2025-01-16T12:00:00Z"'))
  t.equal(parsed.signingCerts.length, 2, 'signing keys only, not the encryption key')
  t.equal(parsed.entityId, TEST_IDP_ISSUER)
  t.equal(parsed.ssoRedirectUrl, 'https://login.microsoftonline.com/t/saml2')
  t.equal(refreshDelay(parsed, TEST_NOW), 2 * 3_600_000, 'cacheDuration')
  t.equal(refreshDelay({ validUntil: TEST_NOW + 4 * 3_600_000 }, TEST_NOW), 2 * 3_600_000, 'half the time left before validUntil')
  t.equal(refreshDelay({ cacheDurationMs: 1000 }, TEST_NOW), 5 * 60_000, 'never more often than every 5 minutes')
  t.equal(refreshDelay({}, TEST_NOW), 3_600_000, 'hourly by default')
  t.equal(refreshDelay({ cacheDurationMs: 7 * 86_400_000 }, TEST_NOW), 86_400_000, 'at least daily')
})
