// Login CSRF with an unsolicited response: an attacker's own IdP-signed response, auto-posted to
// the ACS from the attacker's page, would sign the victim's browser in as the attacker. Entra's
// Test button and My Apps post such responses too, so they are still taken, but the gateway asks
// first (one click, a form token) when
// - the POST says it comes from a page that is not the IdP's (Origin), or
// - this browser is already signed in as another person (a SameSite=None marker cookie of the
//   signed-in person, since the Lax session cookie does not come with the IdP's cross-site POST).
// A browser never switches person silently; the common case (Test button, My Apps, the person
// already signed in or nobody) stays without a click.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import type { RequestTracker, SessionUser } from '../session/store.js'
import type { LoginResult } from '../sp/login-flow.js'
import { escapeHtml } from './pages.js'
import { fromAnotherSite } from './same-origin.js'

export const PENDING_LOGIN_TTL_MS = 5 * 60_000
const PERSON_COOKIE = 'saml_gateway_person'
const PENDING_COOKIE = 'saml_gateway_pending'

export interface UnsolicitedOptions {
  store: Pick<RequestTracker, 'putOnce' | 'takeOnce'>
  /** The origin of the IdP's login page (XC_SAML_ENTRYPOINT): its auto-post carries it as Origin. */
  idpOrigin: string
  publicOrigin: string
  basePath: string
  secure: boolean
  /** How long the person marker lives (the session TTL). */
  sessionTtlMs: number
}

interface Pending { user: SessionUser, returnTo?: string }
type Why = 'another-site' | 'another-person'

const cookieName = (secure: boolean, name: string): string => secure ? `__Host-${name}` : name
const cookieOptions = (secure: boolean, maxAgeMs: number) =>
  ({ signed: true, httpOnly: true, secure, sameSite: secure ? 'none' as const : 'lax' as const, path: '/', maxAge: Math.floor(maxAgeMs / 1000) })
const clearOptions = (secure: boolean) => ({ httpOnly: true, secure, sameSite: secure ? 'none' as const : 'lax' as const, path: '/' })

/** Who a session is for, as a marker: not a secret and not a credential, only "is it the same person". */
function personOf (user: SessionUser): string {
  return createHash('sha256').update(`${user.issuer}\n${user.nameId}`).digest('base64url').slice(0, 22)
}

function readSigned (request: FastifyRequest, name: string): string | undefined {
  const raw = request.cookies[name]
  if (raw === undefined) return undefined
  const unsigned = request.unsignCookie(raw)
  return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined
}

/** At logout: the browser is nobody's any more. */
export function forgetPerson (reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(cookieName(secure, PERSON_COOKIE), clearOptions(secure))
}

export function unsolicitedLogins (opts: UnsolicitedOptions) {
  const { store, idpOrigin, publicOrigin, basePath, secure, sessionTtlMs } = opts
  return {
    /** After every login: the marker of who this browser is signed in as. */
    markPerson (reply: FastifyReply, user: SessionUser): void {
      reply.setCookie(cookieName(secure, PERSON_COOKIE), personOf(user), cookieOptions(secure, sessionTtlMs))
    },

    /** Whether an unsolicited login must be confirmed, and why (for the page and the log). */
    needsConfirmation (request: FastifyRequest, result: LoginResult): Why | undefined {
      const origin = request.headers.origin
      if (typeof origin === 'string' && origin !== idpOrigin) return 'another-site'
      const person = readSigned(request, cookieName(secure, PERSON_COOKIE))
      if (person !== undefined && person !== personOf(result.user)) return 'another-person'
      return undefined
    },

    /** Holds the validated login for PENDING_LOGIN_TTL_MS and asks the person to confirm it. */
    async askToConfirm (request: FastifyRequest, reply: FastifyReply, result: LoginResult, why: Why): Promise<FastifyReply> {
      const token = randomBytes(24).toString('base64url')
      await store.putOnce('pending', token, JSON.stringify({ user: result.user, returnTo: result.returnTo } satisfies Pending), PENDING_LOGIN_TTL_MS)
      reply.setCookie(cookieName(secure, PENDING_COOKIE), token, cookieOptions(secure, PENDING_LOGIN_TTL_MS))
      request.log.info({ audit: 'login', outcome: 'confirmation_asked', why, nameId: result.user.nameId }, 'unsolicited login held for confirmation')
      const who = String(result.user.claims.email ?? result.user.nameId)
      return reply.sendPage(200, {
        title: 'Continue signing in?',
        message: why === 'another-person'
          ? `This browser is signed in as someone else. Continue as ${who}?`
          : `Another site sent you here to sign in as ${who}. Continue only if you started this sign-in.`,
        bodyHtml: `<form method="post" action="${escapeHtml(`${basePath}/callback`)}">` +
          `<input type="hidden" name="continue" value="${escapeHtml(token)}"><button type="submit">Continue as ${escapeHtml(who)}</button></form>`,
        action: { href: '/', label: 'Cancel' }
      })
    },

    /** The confirmation form's POST: the held login, if the form token matches this browser's cookie. */
    async takeConfirmed (request: FastifyRequest, reply: FastifyReply, token: string): Promise<Pending> {
      const expected = readSigned(request, cookieName(secure, PENDING_COOKIE))
      const a = Buffer.from(token)
      const b = Buffer.from(expected ?? '')
      if (expected === undefined || a.length !== b.length || !timingSafeEqual(a, b) || fromAnotherSite(request, publicOrigin)) {
        throw new errors.CsrfToken()
      }
      reply.clearCookie(cookieName(secure, PENDING_COOKIE), clearOptions(secure))
      const raw = await store.takeOnce('pending', token)
      if (raw === null) throw new errors.SamlInResponseTo()
      return JSON.parse(raw) as Pending
    }
  }
}

export type UnsolicitedLogins = ReturnType<typeof unsolicitedLogins>
