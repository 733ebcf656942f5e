import t from 'tap'
import { buildTestApp } from '../../helpers/app.js'
import { startUpstream } from '../../helpers/upstream.js'
import { buildResponse } from '../../helpers/idp.js'
import { loginThroughIdp, newBrowser, send } from '../../helpers/login.js'

t.test('/metrics: logins by outcome and code, ACS latency, sessions, certificate days; loopback only', async (t) => {
  let built: Awaited<ReturnType<typeof buildTestApp>> | undefined
  const upstream = await startUpstream({ issuer: 'https://motion.example.com/api/auth/saml', jwks: () => built!.app.gateway.identityKeys.jwks, now: () => built!.clock.now })
  t.teardown(() => upstream.close())
  built = await buildTestApp(t, { env: { GATEWAY_UPSTREAM_LOGIN_URL: upstream.url } })
  const { app } = built
  await loginThroughIdp(app, newBrowser())
  await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null, audience: 'https://other.example' }) } })
  await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: 'bm90IHhtbA==' } })
  upstream.answer = (_h, res) => { res.writeHead(500); res.end() }
  await loginThroughIdp(app, newBrowser())

  const res = await app.inject({ url: '/api/auth/saml/metrics', remoteAddress: '127.0.0.1' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /saml_gateway_logins_total\{outcome="accepted",code=""\} 1/)
  t.match(res.body, /saml_gateway_logins_total\{outcome="rejected",code="SAML_AUDIENCE"\} 1/)
  t.match(res.body, /saml_gateway_logins_total\{outcome="rejected",code="SAML_(MALFORMED|SCHEMA)"\} 1/)
  t.match(res.body, /saml_gateway_logins_total\{outcome="failed",code="UPSTREAM_UNAVAILABLE"\} 1/, 'signed in, but the upstream failed')
  t.match(res.body, /saml_gateway_acs_duration_seconds_count\{outcome="accepted"\} 1/)
  t.match(res.body, /saml_gateway_active_sessions 2/)
  t.match(res.body, /saml_gateway_idp_certificate_days_to_expiry \d{4,5}/)
  t.match(res.body, /saml_gateway_store_errors_total 0/)

  const remote = await app.inject({ url: '/api/auth/saml/metrics', remoteAddress: '203.0.113.9', headers: { accept: 'application/json' } })
  t.equal(remote.statusCode, 403)
  const proxied = await app.inject({ url: '/api/auth/saml/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9', accept: 'application/json' } })
  t.equal(proxied.statusCode, 403, 'a request forwarded by nginx is not local')
})

t.test('GATEWAY_METRICS=off: no /metrics at all', async (t) => {
  const { app } = await buildTestApp(t, { env: { GATEWAY_METRICS: 'off' } })
  t.equal((await app.inject({ url: '/api/auth/saml/metrics', remoteAddress: '127.0.0.1' })).statusCode, 404)
})
