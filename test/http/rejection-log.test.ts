// Each mistake an administrator makes in Entra or .env, as the gateway meets it: the person sees
// the code; the log line carries what was expected beside what was received (times beside the
// gateway's clock, which element was signed) and never the assertion itself.
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { buildTestApp } from '../helpers/app.js'
import { loginThroughIdp, newBrowser } from '../helpers/login.js'
import { TEST_ACS, TEST_NOW, TEST_SP_ENTITY_ID } from '../helpers/idp.js'
import { logoutRequestXml, redirectQuery } from '../helpers/idp-logout.js'

interface LogLine { [key: string]: unknown, code?: string, msg?: string }

/** The gateway at info level, its log lines kept as parsed JSON. */
async function gatewayWithLog (t: Test, env: Record<string, string> = {}) {
  const lines: LogLine[] = []
  const raw: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) { raw.push(line); lines.push(JSON.parse(line)) }
      done()
    }
  })
  const { app } = await buildTestApp(t, { env: { GATEWAY_LOG_LEVEL: 'info', GATEWAY_VALIDATION_WORKERS: '0', ...env }, deps: { logger: { stream } } })
  return { app, lines, raw }
}

const OTHER_TENANT_ISSUER = 'https://sts.windows.net/00000000-1111-2222-3333-444444444444/'
const MINUTE = 60_000

const mistakes: Array<{ name: string, code: string, response: Parameters<typeof loginThroughIdp>[2], env?: Record<string, string>, expect: Record<string, unknown> }> = [
  {
    name: "Entra's Identifier is not XC_SAML_ISSUER",
    code: 'SAML_AUDIENCE',
    response: { audience: 'spn:https://motion-old.example.com' },
    expect: { expected: TEST_SP_ENTITY_ID, received: ['spn:https://motion-old.example.com'] }
  },
  {
    name: "Entra's Reply URL has another host than DOMAIN",
    code: 'SAML_DESTINATION',
    response: { destination: 'https://motion.internal.example/api/auth/saml/callback', recipient: 'https://motion.internal.example/api/auth/saml/callback' },
    expect: { expected: TEST_ACS, received: 'https://motion.internal.example/api/auth/saml/callback' }
  },
  {
    name: 'the Reply URL differs only in the Recipient (no Destination)',
    code: 'SAML_RECIPIENT',
    response: { destination: null, recipient: 'http://motion.example.com/api/auth/saml/callback' },
    expect: { expected: TEST_ACS, received: ['http://motion.example.com/api/auth/saml/callback'] }
  },
  {
    name: 'another tenant (the Login URL of another directory)',
    code: 'SAML_ISSUER',
    response: { issuer: OTHER_TENANT_ISSUER, responseIssuer: OTHER_TENANT_ISSUER },
    expect: { received: OTHER_TENANT_ISSUER, element: 'Assertion' }
  },
  {
    name: "this server's clock 10 minutes behind (the assertion is from its future)",
    code: 'SAML_NOT_YET_VALID',
    response: { now: TEST_NOW + 10 * MINUTE },
    expect: { element: 'Conditions', notBefore: new Date(TEST_NOW + 10 * MINUTE).toISOString(), gatewayClock: new Date(TEST_NOW).toISOString(), skew: '180s' }
  },
  {
    name: "this server's clock 10 minutes ahead, with a 5-minute assertion",
    code: 'SAML_EXPIRED',
    response: { now: TEST_NOW - 10 * MINUTE, times: { notOnOrAfter: 5 * MINUTE, scdNotOnOrAfter: 5 * MINUTE } },
    expect: { element: 'Conditions', notOnOrAfter: new Date(TEST_NOW - 5 * MINUTE).toISOString(), gatewayClock: new Date(TEST_NOW).toISOString() }
  },
  {
    name: "Entra's Signing Option is 'Sign SAML response' (only the Response signed)",
    code: 'SAML_UNSIGNED_ASSERTION',
    response: { sign: 'response' },
    expect: { signed: 'Response' }
  }
]

for (const mistake of mistakes) {
  t.test(`${mistake.name} → ${mistake.code}, expected and received in the log`, async (t) => {
    const { app, lines, raw } = await gatewayWithLog(t, mistake.env)
    const { acs, samlResponse } = await loginThroughIdp(app, newBrowser(), mistake.response)
    t.equal(acs.statusCode, 400, `refused (${acs.body.slice(0, 200)})`)
    t.match(acs.body, `<code>${mistake.code}</code>`, 'the page names the code')
    const reference = /<dt>Reference<\/dt><dd><code>([^<]+)<\/code>/.exec(acs.body)?.[1]
    const line = lines.find((l) => l.code === mistake.code)
    t.ok(line, 'one log line names the code')
    t.match(line, { level: 40, audit: 'rejection', correlationId: reference, ...mistake.expect }, 'expected and received values')
    for (const value of Object.values(mistake.expect).flat()) t.notOk(acs.body.includes(String(value)) && !String(value).startsWith('https://motion.example.com'), `the page does not show ${String(value)}`)
    const text = raw.join('\n')
    t.notOk(text.includes(samlResponse.slice(0, 40)), 'never the SAMLResponse')
    t.notOk(/<saml|Assertion ID=|SignatureValue/.test(text), 'never the XML')
  })
}

t.test("Entra's Logout URL of another tenant → SAML_LOGOUT_ISSUER, expected and received in the log", async (t) => {
  const { app, lines } = await gatewayWithLog(t)
  const query = redirectQuery(logoutRequestXml({ nameId: 'alice@contoso.com', issuer: OTHER_TENANT_ISSUER }))
  const res = await app.inject({ url: `/api/auth/saml/logout/callback?${query}`, headers: { accept: 'application/json', 'x-forwarded-proto': 'https' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'SAML_LOGOUT_ISSUER')
  const line = lines.find((l) => l.code === 'SAML_LOGOUT_ISSUER')
  t.match(line, { correlationId: res.json().correlationId, received: OTHER_TENANT_ISSUER, element: 'LogoutRequest' })
  t.ok(Array.isArray(line?.expected), 'the issuers the gateway accepts')
})
