// A gateway under attack: built through buildTestApp, with stub upstreams that record every handoff
// and every logout notice, a victim signed in (and a look-alike account), and one function that
// throws an attack at the ACS and at the SLO endpoint (both bindings) and says what came back.
import { deflateRawSync } from 'node:zlib'
import type { LightMyRequestResponse } from 'fastify'
import { cookiesOf, type TestApp } from '../helpers/app.js'
import { entraClaims, esc } from '../helpers/idp.js'
import { lowerCaseEncode } from '../helpers/idp-logout.js'
import { loginThroughIdp, newBrowser, send, type Browser } from '../helpers/login.js'
import { buildWithUpstreams, IDP_SLO, type StubUpstream } from '../helpers/upstream.js'
import { errors } from '../../src/errors.js'
import { SESSION_COOKIE } from '../../src/http/plugins/session.js'
import { LOOKALIKE, VICTIM, type Attack } from './_generator.js'

export { IDP_SLO }
/** Every stable code the gateway can answer with. */
export const KNOWN_CODES = new Set(Object.values(errors).map((E) => (new (E as new () => { code: string })()).code))

export interface Harness extends TestApp {
  upstream: StubUpstream
  logouts: StubUpstream
  /** Signed in before every attack: a forged logout must not end these. */
  accounts: Record<string, Browser>
}

interface Teardown { teardown: (fn: () => unknown) => void }

export async function harness (t: Teardown, env: Record<string, string> = {}): Promise<Harness> {
  const built = await buildWithUpstreams(t, { GATEWAY_RATE_LIMIT: '0', ...env })
  return { ...built, accounts: { [VICTIM]: newBrowser(), [LOOKALIKE]: newBrowser() } }
}

export type Endpoint = 'ACS' | 'SLO POST' | 'SLO Redirect'

export interface Observed {
  endpoint: Endpoint
  status: number
  code?: string
  /** A gateway session cookie was set (a login). */
  sessionCookie: boolean
  /** Handoffs the login upstream received, and logout notices the logout upstream received. */
  handoffs: StubUpstream['calls']
  logoutNotices: StubUpstream['calls']
  /** Accounts whose session did not survive. */
  sessionsEnded: string[]
}

const hasSession = async (h: Harness, browser: Browser): Promise<boolean> =>
  (await send(h.app, browser, { url: '/api/auth/saml/session', headers: { accept: 'application/json' } })).statusCode === 200

let logins = 0
async function signInAll (h: Harness): Promise<void> {
  for (const [nameId, browser] of Object.entries(h.accounts)) {
    if (await hasSession(h, browser)) continue
    const { acs } = await loginThroughIdp(h.app, browser, { nameIdXml: esc(nameId), attributes: entraClaims(nameId), assertionId: `_account${++logins}` })
    if (acs.statusCode !== 302) throw new Error(`could not sign ${nameId} in: ${acs.statusCode} ${acs.body}`)
  }
}

/** Throws the attack at one endpoint from a fresh browser, and collects what it did. */
export async function throwAt (h: Harness, attack: Attack, endpoint: Endpoint): Promise<Observed> {
  await signInAll(h)
  const handoffs = h.upstream.calls.length
  const notices = h.logouts.calls.length
  const octets = attack.octets ?? Buffer.from(attack.xml, 'utf8')
  const field = /^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^[>]*(\[[\s\S]*?\]\s*)?>\s*)?<samlp:LogoutRequest/.test(attack.xml) ? 'SAMLRequest' : 'SAMLResponse'
  const json = { accept: 'application/json' }
  let res: LightMyRequestResponse
  if (endpoint === 'ACS') {
    res = await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: octets.toString('base64') }, headers: json })
  } else if (endpoint === 'SLO POST') {
    res = await send(h.app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { [field]: octets.toString('base64') }, headers: json })
  } else {
    const query = attack.redirectQuery ?? `${field}=${lowerCaseEncode(deflateRawSync(octets).toString('base64'))}`
    res = await send(h.app, newBrowser(), { url: `/api/auth/saml/logout/callback?${query}`, headers: json })
  }
  const sessionsEnded: string[] = []
  for (const [nameId, browser] of Object.entries(h.accounts)) if (!(await hasSession(h, browser))) sessionsEnded.push(nameId)
  let code: string | undefined
  try { code = res.json().error } catch {}
  return {
    endpoint,
    status: res.statusCode,
    code,
    sessionCookie: (cookiesOf(res)[SESSION_COOKIE] ?? '') !== '',
    handoffs: h.upstream.calls.slice(handoffs),
    logoutNotices: h.logouts.calls.slice(notices),
    sessionsEnded
  }
}
