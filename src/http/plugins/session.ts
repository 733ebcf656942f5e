// Cookies and sessions: @fastify/session over our store, and the short-lived cookie that binds an
// outstanding AuthnRequest to the browser that started it.
import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayStore, SessionUser } from '../../session/store.js'
import { FastifySessionStore } from '../../session/fastify-session-store.js'
import { AUTHN_REQUEST_TTL_MS } from '../../sp/login-flow.js'

declare module 'fastify' {
  interface Session {
    user?: SessionUser
    /** Multi-login: the token the chooser form must echo, and the profiles it offered. */
    csrf?: string
    profiles?: string[]
    returnTo?: string
    /** The token a cross-site logout's confirmation form must echo. */
    logoutCsrf?: string
  }
}

// With an https public origin the cookies carry the __Host- prefix: the browser then takes them
// only Secure, Path=/ and without Domain, so a sibling subdomain cannot set (toss) a cookie of
// that name to fix a session or to bind a login request to its own browser. Plain names over
// http (the local demo), where no prefix is possible.
export const SESSION_COOKIE = '__Host-saml_gateway_session'
export const BINDING_COOKIE = '__Host-saml_gateway_request'
export const sessionCookieName = (secure: boolean): string => secure ? SESSION_COOKIE : 'saml_gateway_session'
export const bindingCookieName = (secure: boolean): string => secure ? BINDING_COOKIE : 'saml_gateway_request'

export interface SessionPluginOptions {
  store: GatewayStore
  secret: string
  ttlMs: number
  basePath: string
  /** False only when the public origin is plain http (local demo): browsers would drop Secure cookies' purpose. */
  secure: boolean
}

export default fp<SessionPluginOptions>(async function sessionPlugin (app, opts) {
  await app.register(cookie, { secret: opts.secret })
  await app.register(session, {
    secret: opts.secret,
    cookieName: sessionCookieName(opts.secure),
    // Cookie expiry is computed by @fastify/session on the real clock, so the TTL is read on it too.
    store: new FastifySessionStore(opts.store, { defaultTtlMs: opts.ttlMs }),
    saveUninitialized: false,
    rolling: false,
    cookie: {
      // Site-wide, so that nginx auth_request subrequests for any page carry it.
      path: '/',
      httpOnly: true,
      secure: opts.secure,
      sameSite: 'lax',
      maxAge: opts.ttlMs
    }
  })
}, { name: 'saml-gateway-session', fastify: '5.x' })

/**
 * The browser binding: a random value in a signed cookie that must come back with the IdP's POST.
 * SameSite=None so that it survives the cross-site POST from the IdP (Secure is then mandatory).
 */
export function browserBinding (request: FastifyRequest, reply: FastifyReply, opts: { basePath: string, secure: boolean }): string {
  const existing = readBrowserBinding(request, opts.secure)
  const value = existing ?? randomBytes(18).toString('base64url')
  reply.setCookie(bindingCookieName(opts.secure), value, {
    signed: true,
    httpOnly: true,
    secure: opts.secure,
    sameSite: opts.secure ? 'none' : 'lax',
    // __Host- requires Path=/.
    path: opts.secure ? '/' : opts.basePath,
    maxAge: AUTHN_REQUEST_TTL_MS / 1000
  })
  return value
}

export function readBrowserBinding (request: FastifyRequest, secure: boolean): string | undefined {
  const raw = request.cookies[bindingCookieName(secure)]
  if (raw === undefined) return undefined
  const unsigned = request.unsignCookie(raw)
  return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined
}

/** The session's person, unless the IdP session it came from has ended (SessionNotOnOrAfter). */
export function liveUser (request: FastifyRequest, nowMs: number): SessionUser | undefined {
  const user = request.session.user
  if (user === undefined) return undefined
  if (user.idpSessionEnd !== undefined && user.idpSessionEnd <= nowMs) return undefined
  return user
}
