// `saml-gateway/express`: the identity header as Express middleware, for Motion's login route (and
// any upstream built on Express or plain node:http). It imports no Express at run time: it uses
// only what node:http's request and response have, which Express's extend.
//
//   import express from 'express'
//   import { gatewayIdentity, identityOf, answer } from 'saml-gateway/express'
//   app.post('/api/login/saml', express.json(), gatewayIdentity({ issuer, audience, jwksUrl }), (req, res) => {
//     const who = identityOf(req)            // verified, typed, used once
//     …find the user by who.email…
//     answer.signIn(res, { location: returnToOf(req.body), cookies: ['motion_session=…; Path=/; HttpOnly'] })
//   })
//
// HANDOFF.md is the contract this implements.
import type { IncomingHttpHeaders } from 'node:http'
import { IdentityVerificationError, revokeSession, verifyIdentity } from './verify.js'
import type { VerifiedIdentity, VerifyOptions } from './verify.js'

export { IdentityVerificationError, revokeSession, verifyIdentity }
export { createMemoryJtiCache, createMemorySessionRevocations } from './once.js'
export type { JtiCache, SessionRevocations } from './once.js'
export type { IdentityErrorCode, VerifiedIdentity, VerifyOptions } from './verify.js'

/** What the middleware reads of a request: node's IncomingMessage and Express's Request both fit. */
export interface GatewayRequest {
  method?: string
  url?: string
  /** Express keeps the URL as received here when routers strip their mount path from `url`. */
  originalUrl?: string
  headers: IncomingHttpHeaders
  /** A TLS socket has `encrypted: true`. */
  socket?: object
  /** Set by the middleware once the header verified. */
  gatewayIdentity?: VerifiedIdentity
}

/** What the middleware writes to a response: node's ServerResponse and Express's Response both fit. */
export interface GatewayResponse {
  statusCode: number
  setHeader (name: string, value: string | number | readonly string[]): unknown
  end (body?: string): unknown
}

export type Next = (err?: unknown) => void
export type Middleware = (req: GatewayRequest, res: GatewayResponse, next: Next) => void

/** A request the middleware has let through: its identity is there and typed. */
export type IdentifiedRequest<R extends GatewayRequest = GatewayRequest> = R & { gatewayIdentity: VerifiedIdentity }

export interface GatewayIdentityOptions extends Omit<VerifyOptions, 'method' | 'url'> {
  /**
   * The absolute URL the gateway calls (GATEWAY_UPSTREAM_LOGIN_URL, or GATEWAY_UPSTREAM_LOGOUT_URL
   * for the logout notice). Default: this request's own URL as the server received it, which is
   * right when the gateway calls the application directly, server to server.
   */
  url?: string | ((req: GatewayRequest) => string)
  /** Told about every refused token (log it); the response has been sent already. */
  onRefused?: (err: IdentityVerificationError, req: GatewayRequest) => void
}

/**
 * Verifies X-Gateway-Identity (signature, issuer, audience, time, method and URL, once only, not
 * of an ended session), puts it on `req.gatewayIdentity` and calls the route; else answers itself
 * `401 { error, message }` (or `503` when the gateway's keys cannot be fetched), which the gateway
 * shows the person as a refusal.
 */
export function gatewayIdentity (options: GatewayIdentityOptions): Middleware {
  checkOptions(options, 'gatewayIdentity')
  return (req, res, next) => {
    verifyRequest(req, options).then((identity) => {
      req.gatewayIdentity = identity
      next()
    }, (err: unknown) => refuseOrPass(err, req, res, next, options))
  }
}

/**
 * For GATEWAY_UPSTREAM_LOGOUT_URL: the gateway's notice that the IdP ended a person's session.
 * Verifies it like a login, then refuses every later token of that gateway session (`sid`) in
 * this process, and calls the route to end the application's own sessions of that person.
 */
export function logoutNotice (options: GatewayIdentityOptions): Middleware {
  checkOptions(options, 'logoutNotice')
  return (req, res, next) => {
    verifyRequest(req, options).then(async (identity) => {
      await revokeSession(identity.sid, options)
      req.gatewayIdentity = identity
      next()
    }, (err: unknown) => refuseOrPass(err, req, res, next, options))
  }
}

/** The verified identity of a request the middleware let through. */
export function identityOf (req: GatewayRequest): VerifiedIdentity {
  if (req.gatewayIdentity === undefined) throw new Error('identityOf: no verified identity on this request (is the gatewayIdentity middleware in front of the route?)')
  return req.gatewayIdentity
}

/** The body's `returnTo` when it is a path on this site, else `/`: where to send the person. */
export function returnToOf (body: unknown): string {
  const returnTo = (body as { returnTo?: unknown } | null | undefined)?.returnTo
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  return typeof returnTo === 'string' && /^\/(?![/\\])/.test(returnTo) && !/[\u0000-\u001f\\]/.test(returnTo) ? returnTo : '/'
}

/** The body's `profile` (the person's choice on the gateway's chooser), if any. */
export function profileOf (body: unknown, identity?: VerifiedIdentity): string | undefined {
  const profile = (body as { profile?: unknown } | null | undefined)?.profile
  return typeof profile === 'string' && profile !== '' ? profile : identity?.profile
}

export interface ProfileChoice { id: string, label: string, role?: string }

/** The three answers the gateway understands from a login route (HANDOFF.md). */
export const answer = {
  /** Signed in: 302 to `location` with the application's session cookie(s); relayed to the browser. */
  signIn (res: GatewayResponse, opts: { location?: string, cookies: string | readonly string[] }): void {
    res.statusCode = 302
    res.setHeader('location', opts.location ?? '/')
    res.setHeader('set-cookie', typeof opts.cookies === 'string' ? [opts.cookies] : opts.cookies)
    res.setHeader('cache-control', 'no-store')
    res.end()
  },
  /** Several users share this identity: 300 with the profiles; the gateway asks which one and calls again with `profile`. */
  chooseProfile (res: GatewayResponse, profiles: readonly ProfileChoice[]): void {
    sendJson(res, 300, { profiles: profiles.map(({ id, label, role }) => ({ id, label, ...(role !== undefined ? { role } : {}) })) })
  },
  /** No user for this identity (or not allowed): 403 (or 401/404); the gateway shows `message` to the person. */
  refuse (res: GatewayResponse, message: string, status: 401 | 403 | 404 = 403): void {
    sendJson(res, status, { message })
  }
}

async function verifyRequest (req: GatewayRequest, options: GatewayIdentityOptions): Promise<VerifiedIdentity> {
  const { url, onRefused, ...verify } = options
  const target = typeof url === 'function' ? url(req) : url ?? ownUrl(req)
  return await verifyIdentity(req.headers, { ...verify, method: req.method ?? 'GET', url: target })
}

function refuseOrPass (err: unknown, req: GatewayRequest, res: GatewayResponse, next: Next, options: GatewayIdentityOptions): void {
  if (!(err instanceof IdentityVerificationError)) {
    next(err)
    return
  }
  sendJson(res, err.statusCode, { error: err.code, message: `The sign-in could not be verified (${err.code}).` })
  options.onRefused?.(err, req)
}

function ownUrl (req: GatewayRequest): string {
  const scheme = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http'
  return `${scheme}://${req.headers.host ?? 'localhost'}${req.originalUrl ?? req.url ?? '/'}`
}

function checkOptions (options: GatewayIdentityOptions, name: string): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${name}: options are required`)
  for (const key of ['issuer', 'audience'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') throw new TypeError(`${name}: options.${key} is required`)
  }
  const sources = [options.jwks, options.jwksUrl, options.secret].filter((s) => s !== undefined)
  if (sources.length !== 1) throw new TypeError(`${name}: give exactly one of jwks, jwksUrl or secret`)
}

function sendJson (res: GatewayResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.end(JSON.stringify(body))
}
