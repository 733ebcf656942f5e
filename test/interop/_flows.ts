// The browser journeys every IdP's test walks: a login from wherever it starts (the gateway or the
// IdP) to the handoff to Motion, and a logout from either side to its end. Each returns what the
// test asserts on: the pages passed through, the ACS answer, what Motion was handed.
import { inflateRawSync } from 'node:zlib'
import { formsOf, type Browser, type Page } from './_browser.js'
import { BASE, SP_ORIGIN, type Gateway } from './_harness.js'
import type { Handoff } from '../helpers/upstream.js'

/** Stop where the gateway hands the browser to Motion (any page on the site outside the gateway). */
const atMotion = (url: URL): boolean => url.origin === SP_ORIGIN && !url.pathname.startsWith(new URL(BASE).pathname)

export interface LoginResult {
  /** The gateway's answer to the ACS POST. */
  acs?: Page
  /** The last page reached. */
  last: Page
  trail: Page[]
  /** What Motion was handed by this login, if anything. */
  handoff?: Handoff
  /** The error code the gateway named, when it refused. */
  code?: string
  /** The SAMLResponse the IdP had the browser post, as XML. */
  response?: string
}

/** The XML of the last SAMLResponse form in the pages passed through. */
export function postedResponse (trail: Page[]): string | undefined {
  for (const page of [...trail].reverse()) {
    const value = formsOf(page.body).flatMap((f) => f.fields).find(([name]) => name === 'SAMLResponse')?.[1]
    if (value !== undefined) return Buffer.from(value, 'base64').toString('utf8')
  }
  return undefined
}

/** Where a Response carries its signatures, and whether its assertion is encrypted. */
export function layoutOf (xml: string | undefined): { responseSigned: boolean, assertionSigned: boolean, encrypted: boolean } {
  const signedAfterIssuer = (element: string) =>
    new RegExp(`<(?:\\w+:)?${element}\\b[^>]*>\\s*<(?:\\w+:)?Issuer\\b[^>]*>[^<]*</(?:\\w+:)?Issuer>\\s*<(?:\\w+:)?Signature\\b`).test(xml ?? '')
  return { responseSigned: signedAfterIssuer('Response'), assertionSigned: signedAfterIssuer('Assertion'), encrypted: /EncryptedAssertion\b/.test(xml ?? '') }
}

export async function signIn (gw: Gateway, browser: Browser, start: string): Promise<LoginResult> {
  const before = gw.upstream.calls.length
  const { page, trail } = await browser.follow(await browser.go(start), { stopAt: atMotion })
  const acs = trail.find((p) => p.url === `${BASE}/callback`)
  return {
    acs,
    last: page,
    trail,
    handoff: gw.upstream.calls.length > before ? gw.upstream.calls.at(-1) : undefined,
    code: acs !== undefined && acs.status >= 400 ? codeOf(acs.body) : undefined,
    response: postedResponse(trail)
  }
}

/** The stable code a gateway error page or JSON names. */
export function codeOf (body: string): string | undefined {
  return /"code"\s*:\s*"([A-Z0-9_]+)"/.exec(body)?.[1] ?? /\b((?:SAML|STORE|UPSTREAM|SESSION|CSRF|BAD|RATE)_[A-Z0-9_]+)\b/.exec(body)?.[1]
}

/** Where the gateway sends a person after logout (GATEWAY_POST_LOGOUT_URL, or its own signed-out page). */
export const postLogoutPage = (gw: Gateway): string => new URL(gw.config.postLogoutUrl, SP_ORIGIN).href

/** SP-initiated logout: the gateway's /logout through the IdP and back. */
export async function signOutHere (browser: Browser): Promise<{ last: Page, trail: Page[], toIdp?: string }> {
  const first = await browser.go(`${BASE}/logout`)
  const toIdp = first.status === 302 ? String(first.headers.location) : undefined
  const { page, trail } = await browser.follow(first, { stopAt: (url) => atMotion(url) || url.pathname === `${new URL(BASE).pathname}/signed-out` })
  return { last: page, trail, toIdp }
}

/** IdP-initiated logout: start at the IdP's URL, through the gateway's SLO endpoint and back. */
export async function signOutAtIdp (browser: Browser, start: string, stopAt?: (url: URL) => boolean): Promise<{ last: Page, trail: Page[], slo?: Page }> {
  const { page, trail } = await browser.follow(await browser.go(start), { stopAt })
  return { last: page, trail, slo: trail.find((p) => p.url.startsWith(`${BASE}/logout/callback`)) }
}

/** The gateway session as /session reports it, or undefined. */
export async function sessionOf (browser: Browser): Promise<Record<string, unknown> | undefined> {
  const page = await browser.go(`${BASE}/session`, { headers: { accept: 'application/json' } })
  return page.status === 200 ? JSON.parse(page.body) as Record<string, unknown> : undefined
}

/** The XML of a Redirect-binding message in a URL. */
export function redirectMessage (url: string): string {
  const params = new URL(url).searchParams
  const value = params.get('SAMLRequest') ?? params.get('SAMLResponse')
  if (value === null) throw new Error(`no SAML message in ${url}`)
  return inflateRawSync(Buffer.from(value, 'base64')).toString('utf8')
}
