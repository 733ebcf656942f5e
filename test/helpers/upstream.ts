// A stand-in upstream (Motion's login endpoint) on a real loopback port: it records each handoff,
// verifies the identity header like Motion would, and answers what the test tells it to.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryJtiCache, verifyIdentity, type VerifiedIdentity } from '../../src/identity/verify.js'
import { buildTestApp, type TestApp } from './app.js'

export interface Handoff {
  headers: IncomingMessage['headers']
  body: Record<string, unknown>
  identity?: VerifiedIdentity
  identityError?: string
}

export type Answer = (handoff: Handoff, res: ServerResponse) => void

export const welcome: Answer = (_h, res) => {
  res.writeHead(302, { location: '/welcome', 'set-cookie': 'motion_session=abc; Path=/; HttpOnly' })
  res.end()
}

export interface StubUpstream {
  url: string
  calls: Handoff[]
  answer: Answer
  close (): Promise<void>
}

export async function startUpstream (verify: { issuer: string, audience?: () => string, jwks: () => { keys: unknown[] }, now?: () => number }, path = '/api/login/saml'): Promise<StubUpstream> {
  const stub: StubUpstream = { url: '', calls: [], answer: welcome, close: async () => {} }
  // Its own once-only cache, as a real upstream has: tests may verify the same tokens again.
  const jtiCache = createMemoryJtiCache({ now: verify.now })
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const handoff: Handoff = { headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }
      verifyIdentity(req.headers, {
        issuer: verify.issuer,
        audience: verify.audience?.() ?? new URL(stub.url).origin,
        method: req.method ?? 'POST',
        url: stub.url,
        jwks: verify.jwks() as never,
        now: verify.now,
        jtiCache
      }).then((identity) => { handoff.identity = identity }, (err: Error & { code?: string }) => { handoff.identityError = err.code ?? err.message })
        .finally(() => { stub.calls.push(handoff); stub.answer(handoff, res) })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`
  stub.close = () => new Promise((resolve) => server.close(() => resolve()))
  return stub
}

/**
 * Motion's two endpoints as the gateway calls them: the login handoff and the logout notice (which
 * answers 204), on one origin's terms (the notice's audience is the login endpoint's origin).
 * Both closed at teardown.
 */
export async function startUpstreams (t: { teardown: (fn: () => unknown) => void }, verify: Parameters<typeof startUpstream>[0]): Promise<{ upstream: StubUpstream, logouts: StubUpstream }> {
  const upstream = await startUpstream(verify)
  const logouts = await startUpstream({ ...verify, audience: () => new URL(upstream.url).origin }, '/api/logout/saml')
  logouts.answer = (_h, res) => { res.writeHead(204); res.end() }
  t.teardown(() => Promise.all([upstream.close(), logouts.close()]))
  return { upstream, logouts }
}

/** Entra's SLO endpoint, as XC_SAML_LOGOUT_URL names it. */
export const IDP_SLO = 'https://login.microsoftonline.com/tenant/saml2'

export interface TestAppWithUpstreams extends TestApp { upstream: StubUpstream, logouts: StubUpstream }

/** The gateway beside both stand-in endpoints, with Entra's SLO URL: where the logout and attack tests start. */
export async function buildWithUpstreams (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string> = {}): Promise<TestAppWithUpstreams> {
  let built: TestApp | undefined
  const verify = { issuer: 'https://motion.example.com/api/auth/saml', jwks: () => built!.app.gateway.identityKeys.jwks, now: () => built!.clock.now }
  const { upstream, logouts } = await startUpstreams(t, verify)
  built = await buildTestApp(t, {
    env: {
      GATEWAY_UPSTREAM_LOGIN_URL: upstream.url,
      GATEWAY_UPSTREAM_LOGOUT_URL: logouts.url,
      XC_SAML_LOGOUT_URL: IDP_SLO,
      ...env
    }
  })
  return { ...built, upstream, logouts }
}
