import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { checkConfiguration, formatReport } from '../../src/commands/check.js'
import { baseEnv, tempDir } from '../helpers/app.js'
import { POST, REDIRECT, idpMetadataXml } from '../helpers/idp-metadata.js'

const NOW = Date.parse('2026-03-02T09:00:00Z')
const IDP = 'https://idp.example.org/idp/shibboleth'
const SSO = 'https://idp.example.org/idp/profile/SAML2/POST/SSO'

const upstream = createServer((_req, res) => { res.writeHead(405); res.end() })
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
t.teardown(() => upstream.close())
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api/login/saml`

const env = (t: Test, overrides: Record<string, string | undefined> = {}) =>
  baseEnv({ GATEWAY_UPSTREAM_LOGIN_URL: upstreamUrl, GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: tempDir(t), ...overrides })

function metadataFile (t: Test): string {
  const file = join(tempDir(t), 'idp.xml')
  writeFileSync(file, idpMetadataXml({ entityId: IDP, sso: [[POST, SSO]], slo: [[REDIRECT, 'https://idp.example.org/idp/profile/SAML2/Redirect/SLO']] }))
  return file
}

t.test('check prints where each identity claim comes from', async (t) => {
  const report = await checkConfiguration({ env: env(t, { GATEWAY_CLAIM_EMAIL: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6' }), cwd: tempDir(t), now: NOW })
  t.equal(report.ok, true)
  const text = formatReport(report)
  t.match(text, /Identity claims are read from these SAML attributes \(the first one present wins\):/)
  t.match(text, /\n {2}email\s+GATEWAY_CLAIM_EMAIL: urn:oid:1\.3\.6\.1\.4\.1\.5923\.1\.1\.1\.6; then built-in: http:\/\/schemas\.xmlsoap\.org\/ws\/2005\/05\/identity\/claims\/emailaddress, /)
  t.match(text, /\n {2}family_name\s+built-in: .*urn:oid:2\.5\.4\.4, urn:mace:dir:attribute-def:sn, sn/)
  t.match(text, /\n {2}preferred_username\s+built-in: .*urn:mace:dir:attribute-def:uid/)
})

t.test('with a metadata file: the endpoints it gives, and which value wins where XC_SAML_* disagrees', async (t) => {
  const file = metadataFile(t)
  const alone = await checkConfiguration({ env: env(t, { GATEWAY_IDP_METADATA_FILE: file, XC_SAML_ENTRYPOINT: undefined, XC_SAML_CERT: undefined }), cwd: tempDir(t), now: NOW })
  t.same(alone.problems, [])
  t.same(alone.warnings, [])
  const text = formatReport(alone)
  t.match(text, `AuthnRequests go to ${SSO} (HTTP-POST)`)
  t.match(text, /LogoutRequests go to https:\/\/idp\.example\.org\/idp\/profile\/SAML2\/Redirect\/SLO \(HTTP-Redirect\)/)

  const disagreeing = await checkConfiguration({ env: env(t, { GATEWAY_IDP_METADATA_FILE: file, XC_SAML_ENTRYPOINT: 'https://old-idp.example.org/sso', XC_SAML_LOGOUT_URL: 'https://old-idp.example.org/slo' }), cwd: tempDir(t), now: NOW })
  t.equal(disagreeing.ok, true, 'usable: the metadata decides')
  const warnings = formatReport(disagreeing)
  t.match(warnings, /warning: XC_SAML_ENTRYPOINT \(https:\/\/old-idp\.example\.org\/sso\) is not the SingleSignOnService in the IdP metadata .* the metadata wins/)
  t.match(warnings, /warning: XC_SAML_LOGOUT_URL \(https:\/\/old-idp\.example\.org\/slo\) is not the SingleLogoutService .* the metadata wins/)
})

t.test('with a metadata URL that cannot be read and nothing to stand in: a problem; with XC_SAML_*: a warning', async (t) => {
  const gone = await checkConfiguration({ env: env(t, { GATEWAY_IDP_METADATA_URL: 'http://127.0.0.1:9/metadata', XC_SAML_ENTRYPOINT: undefined, XC_SAML_CERT: undefined }), cwd: tempDir(t), now: NOW, timeoutMs: 2000 })
  t.equal(gone.ok, false)
  t.match(formatReport(gone), /problem: GATEWAY_IDP_METADATA_URL: http:\/\/127\.0\.0\.1:9\/metadata cannot be read now/)
  const covered = await checkConfiguration({ env: env(t, { GATEWAY_IDP_METADATA_URL: 'http://127.0.0.1:9/metadata' }), cwd: tempDir(t), now: NOW, timeoutMs: 2000 })
  t.equal(covered.ok, true)
  t.match(formatReport(covered), /warning: GATEWAY_IDP_METADATA_URL: .* XC_SAML_ENTRYPOINT and XC_SAML_CERT are used until it can/)
})

t.test('GATEWAY_ALLOW_3DES=true: usable, with a warning while it is on', async (t) => {
  const report = await checkConfiguration({ env: env(t, { GATEWAY_ALLOW_3DES: 'true' }), cwd: tempDir(t), now: NOW })
  t.equal(report.ok, true)
  t.match(formatReport(report), /warning: GATEWAY_ALLOW_3DES=true: assertions encrypted with 3DES-CBC are decrypted/)
})
