import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { baseEnv, fixture, tempDir, TENANT } from '../helpers/app.js'

const NOW = Date.parse('2026-03-02T09:00:00Z')
const certBody = fixture('idp.crt').replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '')

function problemsOf (env: Record<string, string | undefined>, cwd: string): string[] {
  try {
    loadConfig({ env, cwd, now: NOW })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('a complete Motion-style configuration loads into one frozen object', async (t) => {
  const cwd = tempDir(t)
  const config = loadConfig({ env: baseEnv(), cwd, now: NOW })
  t.equal(config.acsUrl, 'https://motion.example.com/api/auth/saml/callback')
  t.equal(config.sloUrl, 'https://motion.example.com/api/auth/saml/logout/callback')
  t.same(config.idp.issuers, [`https://sts.windows.net/${TENANT}/`, `https://login.microsoftonline.com/${TENANT}/`], 'Entra issuer derived from the tenant in the entry point')
  t.equal(config.upstream.audience, 'http://127.0.0.1:9', 'audience defaults to the upstream origin')
  t.equal(config.session.ttlMs, 8 * 3600_000)
  t.equal(config.validation.clockSkewMs, 180_000)
  t.equal(config.validation.allowIdpInitiated, true)
  t.equal(config.validation.wantAssertionsSigned, true)
  t.equal(config.validation.allowSha1, false)
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.idp) && Object.isFrozen(config.idp.certs))
  t.throws(() => { (config as { domain: string }).domain = 'x' })
})

t.test('missing required variables are all named in one error', async (t) => {
  const problems = problemsOf({ GATEWAY_LOG_LEVEL: 'silent' }, tempDir(t))
  for (const name of ['DOMAIN', 'XC_SAML_ENTRYPOINT', 'XC_SAML_CERT', 'XC_SAML_ISSUER', 'GATEWAY_UPSTREAM_LOGIN_URL']) {
    t.ok(problems.some((p) => p.startsWith(`${name} is required`)), `${name} named`)
  }
  t.equal(problems.length, 5)
})

t.test('the certificate is read tolerantly, with a warning', async (t) => {
  const cases: Record<string, string> = {
    'real line breaks without armour': certBody.match(/.{1,64}/g)!.join('\n'),
    'literal \\n sequences': `-----BEGIN CERTIFICATE-----\\n${certBody.match(/.{1,64}/g)!.join('\\n')}\\n-----END CERTIFICATE-----`,
    'double quotes around it': `"${certBody}"`,
    'single quotes and spaces': `  '${certBody.slice(0, 100)} ${certBody.slice(100)}'  `,
    'PEM armour': fixture('idp.crt'),
    'bare base64 on one line': certBody
  }
  for (const [name, value] of Object.entries(cases)) {
    const config = loadConfig({ env: baseEnv({ XC_SAML_CERT: value }), cwd: tempDir(t), now: NOW })
    t.equal(config.idp.certs.length, 1, `${name}: one certificate`)
    t.equal(config.idp.certs[0].replace(/-----[A-Z ]+-----|\s/g, ''), certBody, `${name}: same certificate`)
  }
  const quoted = loadConfig({ env: baseEnv({ XC_SAML_CERT: `"${certBody}"` }), cwd: tempDir(t), now: NOW })
  t.match(quoted.warnings.join('\n'), /XC_SAML_CERT: removed quotes/)
})

t.test('several certificates, comma-separated, for a rollover', async (t) => {
  const other = fixture('attacker.crt').replace(/-----[A-Z ]+-----|\s/g, '')
  const config = loadConfig({ env: baseEnv({ XC_SAML_CERT: `${certBody},${other}` }), cwd: tempDir(t), now: NOW })
  t.equal(config.idp.certs.length, 2)
})

t.test('a certificate that is not one says precisely what is wrong', async (t) => {
  const garbage = problemsOf(baseEnv({ XC_SAML_CERT: 'MIIC not a certificate!' }), tempDir(t))
  t.match(garbage.join('\n'), /XC_SAML_CERT: character '!' at position \d+ is not base64/)
  const truncated = problemsOf(baseEnv({ XC_SAML_CERT: certBody.slice(0, 200) }), tempDir(t))
  t.match(truncated.join('\n'), /XC_SAML_CERT: 200 base64 characters that do not decode to an X\.509 certificate/)
  const thumbprint = problemsOf(baseEnv({ XC_SAML_CERT: 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678' }), tempDir(t))
  t.match(thumbprint.join('\n'), /thumbprint/)
  const second = problemsOf(baseEnv({ XC_SAML_CERT: `${certBody},bogus` }), tempDir(t))
  t.match(second.join('\n'), /XC_SAML_CERT \(certificate 2 of 2\)/)
})

t.test('a certificate that expires within 30 days warns', async (t) => {
  const soon = Date.now() + 100 * 365 * 86_400_000 - 10 * 86_400_000 // fixtures are valid ~100 years
  const config = loadConfig({ env: baseEnv(), cwd: tempDir(t), now: soon })
  t.match(config.warnings.join('\n'), /expires in \d+ days/)
})

t.test('DOMAIN with a scheme, a path or a wildcard is refused, saying which', async (t) => {
  t.match(problemsOf(baseEnv({ DOMAIN: 'https://motion.example.com' }), tempDir(t)).join('\n'), /DOMAIN must be a host name, not a URL: write "motion\.example\.com" without the scheme/)
  t.match(problemsOf(baseEnv({ DOMAIN: 'motion.example.com/motion' }), tempDir(t)).join('\n'), /DOMAIN must be a host name without a path/)
  t.match(problemsOf(baseEnv({ DOMAIN: '*.example.com' }), tempDir(t)).join('\n'), /DOMAIN .*wildcard/)
  t.match(problemsOf(baseEnv({ DOMAIN: 'motion example' }), tempDir(t)).join('\n'), /DOMAIN "motion example" is not a valid host name/)
  t.same(problemsOf(baseEnv({ DOMAIN: '203.0.113.7:8443' }), tempDir(t)), [], 'an IP address with a port is fine')
})

t.test('a non-Entra entry point needs GATEWAY_IDP_ISSUER', async (t) => {
  t.match(problemsOf(baseEnv({ XC_SAML_ENTRYPOINT: 'https://idp.example.org/sso' }), tempDir(t)).join('\n'), /GATEWAY_IDP_ISSUER is required/)
  const config = loadConfig({ env: baseEnv({ XC_SAML_ENTRYPOINT: 'https://idp.example.org/sso', GATEWAY_IDP_ISSUER: 'https://idp.example.org' }), cwd: tempDir(t), now: NOW })
  t.same(config.idp.issuers, ['https://idp.example.org'])
})

t.test('wrong types and enums are reported with the rest, at once', async (t) => {
  const problems = problemsOf(baseEnv({ GATEWAY_SESSION_STORE: 'postgres', GATEWAY_CLOCK_SKEW: 'soon', GATEWAY_ALLOW_SHA1: 'maybe', DOMAIN: '*.x.com' }), tempDir(t))
  t.match(problems.join('\n'), /GATEWAY_SESSION_STORE must be one of sqlite, redis, memory/)
  t.match(problems.join('\n'), /GATEWAY_CLOCK_SKEW must be a duration/)
  t.match(problems.join('\n'), /GATEWAY_ALLOW_SHA1 must be boolean/)
  t.match(problems.join('\n'), /DOMAIN/)
  t.match(problemsOf(baseEnv({ GATEWAY_SESSION_STORE: 'redis' }), tempDir(t)).join('\n'), /GATEWAY_REDIS_URL is required when GATEWAY_SESSION_STORE=redis/)
})

t.test('reads .env in the working directory, or GATEWAY_ENV_FILE; the environment wins', async (t) => {
  const dir = tempDir(t)
  const env = baseEnv()
  const lines = Object.entries(env).filter(([k]) => k !== 'DOMAIN').map(([k, v]) => `${k}=${JSON.stringify(v)}`)
  writeFileSync(join(dir, '.env'), [...lines, 'DOMAIN=from-dotenv.example.com'].join('\n'))
  t.equal(loadConfig({ env: {}, cwd: dir, now: NOW }).domain, 'from-dotenv.example.com')
  t.equal(loadConfig({ env: { DOMAIN: 'from-env.example.com' }, cwd: dir, now: NOW }).domain, 'from-env.example.com')
  const motionEnv = join(dir, 'motion.env')
  writeFileSync(motionEnv, [...lines, 'DOMAIN=motion-file.example.com'].join('\n'))
  t.equal(loadConfig({ env: { GATEWAY_ENV_FILE: motionEnv }, cwd: tempDir(t), now: NOW }).domain, 'motion-file.example.com')
  t.match(problemsOf({ GATEWAY_ENV_FILE: join(dir, 'missing.env') }, dir).join('\n'), /GATEWAY_ENV_FILE: cannot read .*missing\.env \(ENOENT\)/)
})
