import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { checkConfiguration, formatReport } from '../../src/commands/check.js'
import { baseEnv, fixture, tempDir, TENANT } from '../helpers/app.js'
import { runCli } from './_cli.js'

const NOW = Date.parse('2026-03-02T09:00:00Z')
const YEAR = 365 * 86_400_000

// An upstream that answers anything: the happy path needs one.
const upstream = createServer((_req, res) => { res.writeHead(405); res.end() })
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
t.teardown(() => upstream.close())
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api/login/saml`

const env = (t: Test, overrides: Record<string, string> = {}) =>
  baseEnv({ GATEWAY_UPSTREAM_LOGIN_URL: upstreamUrl, GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: tempDir(t), ...overrides })

t.test('a usable configuration: ok, and the values to paste into Entra', async (t) => {
  const report = await checkConfiguration({ env: env(t), cwd: tempDir(t), now: NOW })
  t.same(report.problems, [])
  t.equal(report.ok, true)
  const text = formatReport(report)
  t.match(text, /configuration is valid/)
  t.match(text, /Identifier \(Entity ID\)\s+https:\/\/motion\.example\.com/)
  t.match(text, /Reply URL \(Assertion Consumer Service URL\)\s+https:\/\/motion\.example\.com\/api\/auth\/saml\/callback/)
  t.match(text, /Logout URL \(optional\)\s+https:\/\/motion\.example\.com\/api\/auth\/saml\/logout\/callback/)
})

t.test('each fault is reported with its variable and a fix', async (t) => {
  const certBody = fixture('idp.crt').replace(/-----[A-Z ]+-----|\s/g, '')
  const cases: Array<[string, Record<string, string>, RegExp, 'problem' | 'warning', number?]> = [
    ['certificate with line breaks', { XC_SAML_CERT: certBody.match(/.{1,64}/g)!.join('\n') }, /warning: XC_SAML_CERT: removed line breaks/, 'warning'],
    ['certificate with quotes', { XC_SAML_CERT: `"${certBody}"` }, /warning: XC_SAML_CERT: removed quotes/, 'warning'],
    ['wildcard domain', { DOMAIN: '*.example.com' }, /problem: DOMAIN .*wildcard/, 'problem'],
    ['expired certificate', {}, /problem: XC_SAML_CERT: the certificate expired on .* Fix: download the current/, 'problem', NOW + 101 * YEAR],
    ['expiring certificate', {}, /warning: XC_SAML_CERT: the certificate expires in \d+ days .* Fix: add the IdP's new certificate/, 'warning', 'expiring' as never],
    ['issuer of another tenant', { GATEWAY_IDP_ISSUER: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/' }, /problem: GATEWAY_IDP_ISSUER .* does not look like the Entra tenant .* Fix: unset GATEWAY_IDP_ISSUER/, 'problem'],
    ['upstream unreachable', { GATEWAY_UPSTREAM_LOGIN_URL: 'http://127.0.0.1:9/api/login/saml' }, /problem: GATEWAY_UPSTREAM_LOGIN_URL: .* is unreachable .* Fix: start Motion/, 'problem'],
    ['store unreachable', { GATEWAY_SESSION_STORE: 'redis', GATEWAY_REDIS_URL: 'redis://127.0.0.1:9' }, /problem: GATEWAY_REDIS_URL: the redis session store is unreachable .* Fix: start Redis/, 'problem']
  ]
  for (const [name, overrides, expected, kind, at] of cases) {
    const expiry = Date.parse(new (await import('node:crypto')).X509Certificate(fixture('idp.crt')).validTo)
    const now = at === ('expiring' as never) ? expiry - 10 * 86_400_000 : at ?? NOW
    const report = await checkConfiguration({ env: env(t, overrides), cwd: tempDir(t), now, timeoutMs: 5000 })
    t.match(formatReport(report), expected, name)
    t.equal(report.ok, kind === 'warning', `${name}: ${kind === 'warning' ? 'still usable' : 'not usable'}`)
  }
})

t.test('missing variables: every one named, no Entra values', async (t) => {
  const report = await checkConfiguration({ env: { GATEWAY_LOG_LEVEL: 'silent' }, cwd: tempDir(t), now: NOW })
  t.equal(report.ok, false)
  t.equal(report.entra, undefined)
  t.match(formatReport(report), /problem: DOMAIN is required[\s\S]*problem: XC_SAML_CERT is required/)
})

t.test('the command: exit 0 only when usable; metadata prints the SP metadata', async (t) => {
  // Asynchronously: the upstream this test serves must keep answering meanwhile.
  const run = async (args: string[], extra: Record<string, string>) => await runCli(args, { cwd: tempDir(t), env: { ...process.env, ...env(t, extra), GATEWAY_ENV_FILE: '' } })
  const good = await run(['check'], {})
  t.equal(good.status, 0, good.stderr)
  t.match(good.stdout, /configuration is valid/)
  const bad = await run(['check'], { DOMAIN: 'https://motion.example.com' })
  t.equal(bad.status, 1)
  t.match(bad.stdout, /problem: DOMAIN must be a host name, not a URL/)
  const metadata = await run(['metadata'], {})
  t.equal(metadata.status, 0, metadata.stderr)
  t.match(metadata.stdout, /<(md:)?EntityDescriptor[^>]+entityID="https:\/\/motion\.example\.com"/)
  t.equal(TENANT.length, 36)
})
