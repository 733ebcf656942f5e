// Abuse limits: GATEWAY_RATE_LIMIT on the login, ACS and SLO routes (per client address, each route
// on its own, 429 RATE_LIMITED through our error page), and the body limit of the ACS (413).
import t from 'tap'
import { parseRateLimit } from '../../../src/config/index.js'
import { buildTestApp } from '../../helpers/app.js'
import { newBrowser, send } from '../../helpers/login.js'

const json = { accept: 'application/json' }
const from = (ip: string) => ({ 'x-forwarded-for': ip, ...json })

t.test('GATEWAY_RATE_LIMIT: per minute by default, /s and /h, 0 turns it off; a bad value is a problem', async (t) => {
  const parse = (value: string) => { const problems: string[] = []; return { limit: parseRateLimit('GATEWAY_RATE_LIMIT', value, problems), problems } }
  t.same(parse('120'), { limit: { max: 120, windowMs: 60_000 }, problems: [] })
  t.same(parse('120/min'), { limit: { max: 120, windowMs: 60_000 }, problems: [] })
  t.same(parse(' 10 / s '), { limit: { max: 10, windowMs: 1000 }, problems: [] })
  t.same(parse('1000/hour'), { limit: { max: 1000, windowMs: 3_600_000 }, problems: [] })
  t.same(parse('0'), { limit: undefined, problems: [] })
  for (const bad of ['lots', '-1', '10/fortnight', '1.5']) t.match(parse(bad).problems[0], /GATEWAY_RATE_LIMIT must be requests per minute/, bad)
  const { config } = await buildTestApp(t)
  t.same(config.rateLimit, { max: 1200, windowMs: 60_000 }, 'default: 1200 per minute')
})

t.test('over the limit: 429 RATE_LIMITED with Retry-After, per client address, per route', async (t) => {
  const { app } = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '3/min' } })
  for (let i = 0; i < 3; i++) t.equal((await send(app, newBrowser(), { url: '/api/auth/saml', headers: from('203.0.113.7') })).statusCode, 302)
  t.equal((await send(app, newBrowser(), { url: '/api/auth/saml/login', headers: from('203.0.113.7') })).statusCode, 302, '/login counts on its own')
  const over = await send(app, newBrowser(), { url: '/api/auth/saml', headers: from('203.0.113.7') })
  t.equal(over.statusCode, 429)
  t.equal(over.json().error, 'RATE_LIMITED')
  t.match(over.json().correlationId, /^[0-9a-f-]{36}$/)
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After')
  const page = await send(app, newBrowser(), { url: '/api/auth/saml', headers: { 'x-forwarded-for': '203.0.113.7', accept: 'text/html' } })
  t.equal(page.statusCode, 429)
  t.match(page.body, /<code>RATE_LIMITED<\/code>/, 'our error page for a browser')
  t.equal((await send(app, newBrowser(), { url: '/api/auth/saml', headers: from('198.51.100.1') })).statusCode, 302, 'another address is not affected')

  // The ACS and the SLO endpoint, each with its own count.
  for (let i = 0; i < 3; i++) {
    t.equal((await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: 'AAAA' }, headers: from('203.0.113.7') })).statusCode, 400)
    t.equal((await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback?SAMLRequest=AAAA', headers: from('203.0.113.7') })).statusCode, 400)
  }
  t.equal((await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: 'AAAA' }, headers: from('203.0.113.7') })).json().error, 'RATE_LIMITED')
  t.equal((await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { SAMLRequest: 'AAAA' }, headers: from('203.0.113.7') })).statusCode, 400, 'POST /logout/callback is its own route')
  t.equal((await send(app, newBrowser(), { url: '/api/auth/saml/logout/callback?SAMLRequest=AAAA', headers: from('203.0.113.7') })).json().error, 'RATE_LIMITED')

  // Everything else stays unlimited: nginx auth_request asks /auth for every page.
  for (let i = 0; i < 10; i++) {
    for (const url of ['/api/auth/saml/auth', '/api/auth/saml/health', '/api/auth/saml/metadata', '/api/auth/saml/jwks.json', '/api/auth/saml/logout']) {
      t.not((await send(app, newBrowser(), { url, headers: from('203.0.113.7') })).statusCode, 429, `${url} is not limited`)
    }
  }
})

t.test('the client address is the one a trusted proxy reports, and only then', async (t) => {
  const { app } = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '2', GATEWAY_TRUST_PROXY: 'false' } })
  const codes: number[] = []
  for (let i = 0; i < 4; i++) codes.push((await send(app, newBrowser(), { url: '/api/auth/saml', headers: from(`192.0.2.${i}`) })).statusCode)
  t.same(codes, [302, 302, 429, 429], 'an untrusted X-Forwarded-For does not buy a new count')
})

t.test('GATEWAY_RATE_LIMIT=0: no limit', async (t) => {
  const { app } = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '0' } })
  for (let i = 0; i < 150; i++) {
    const res = await send(app, newBrowser(), { url: '/api/auth/saml', headers: from('203.0.113.7') })
    if (res.statusCode !== 302) return t.fail(`request ${i}: ${res.statusCode}`)
  }
  t.pass('150 logins in a row')
})

t.test('body limit: the ACS and the SLO endpoint answer 413 SAML_TOO_LARGE', async (t) => {
  const { app, config } = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '0' } })
  const max = config.validation.maxMessageBytes
  const huge = 'A'.repeat(max + 64 * 1024)
  for (const url of ['/api/auth/saml/callback', '/api/auth/saml/logout/callback']) {
    const body = await send(app, newBrowser(), { url, form: { SAMLResponse: huge }, headers: json })
    t.equal(body.statusCode, 413, `${url}: a body over the limit`)
    t.equal(body.json().error, 'SAML_TOO_LARGE')
    const value = await send(app, newBrowser(), { url, form: { SAMLResponse: 'A'.repeat(max + 4) }, headers: json })
    t.equal(value.statusCode, 413, `${url}: a message over the limit in a body under it`)
    t.equal(value.json().error, 'SAML_TOO_LARGE')
  }
  const query = await send(app, newBrowser(), { url: `/api/auth/saml/logout/callback?SAMLRequest=${'A'.repeat(max + 4)}`, headers: json })
  t.ok([413, 414, 431].includes(query.statusCode), `a Redirect-binding query over the limit: ${query.statusCode}`)
})
