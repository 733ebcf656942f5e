// The upstream (Motion), as the rest of the gateway sees it: hand a signed-in person off, tell it
// that the IdP ended a session, and mint the identity header for any request made on a person's
// behalf. The one place where a SAML session user becomes identity claims.
import { randomUUID } from 'node:crypto'
import type { Dispatcher } from 'undici'
import { hashSessionId, type IdentityClaims, type IdentityMinter } from '../identity/mint.js'
import type { SessionUser } from '../session/store.js'
import { handOff, type HandoffResult } from './handoff.js'
import { notifyLogout } from './notify-logout.js'

export interface UpstreamOptions {
  /** GATEWAY_UPSTREAM_LOGIN_URL. */
  loginUrl: string
  /** GATEWAY_UPSTREAM_LOGOUT_URL; without it, IdP logouts are not passed on. */
  logoutUrl?: string
  timeoutMs: number
  minter: IdentityMinter
  /** undici dispatcher for the calls (tests may pass their own). */
  dispatcher?: Dispatcher
}

/** A gateway session: its id (hashed into `sid`, never sent) and its person. */
export interface UpstreamSession {
  sessionId: string
  user: SessionUser
}

export class Upstream {
  constructor (private readonly opts: UpstreamOptions) {}

  /** The identity claims of a session's person: every claim read from the assertion, plus the session's own. */
  identityOf ({ sessionId, user }: UpstreamSession): IdentityClaims {
    return {
      ...user.claims,
      sub: user.nameId,
      sid: hashSessionId(sessionId),
      session_index: user.sessionIndex,
      auth_time: Math.floor(user.authTime / 1000),
      profile: user.profile
    }
  }

  /** The identity header value for one request (method and URL) made on this session's behalf. */
  async identityHeader (session: UpstreamSession, target: { method: string, url: string }): Promise<string> {
    return await this.opts.minter.mint(this.identityOf(session), target)
  }

  /** POST the identity to the login URL; its answer, classified. */
  async handOff (session: UpstreamSession, opts: { returnTo?: string, correlationId: string }): Promise<HandoffResult> {
    const url = this.opts.loginUrl
    return await handOff({
      url,
      token: await this.identityHeader(session, { method: 'POST', url }),
      body: { returnTo: opts.returnTo ?? '/', ...(session.user.profile !== undefined ? { profile: session.user.profile } : {}) },
      timeoutMs: this.opts.timeoutMs,
      correlationId: opts.correlationId,
      dispatcher: this.opts.dispatcher
    })
  }

  /**
   * Tell the upstream the IdP (or the operator: `revoked`) ended this session; true when it
   * acknowledged, or when no logout URL is set.
   */
  async notifyLogout (session: UpstreamSession, reason: 'idp_logout' | 'revoked' = 'idp_logout'): Promise<boolean> {
    const url = this.opts.logoutUrl
    if (url === undefined) return true
    return await notifyLogout({
      url,
      token: await this.identityHeader(session, { method: 'POST', url }),
      timeoutMs: this.opts.timeoutMs,
      correlationId: randomUUID(),
      dispatcher: this.opts.dispatcher,
      reason
    })
  }
}
