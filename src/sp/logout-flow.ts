// Single logout, both directions, free of HTTP framework concerns.
// - SP-initiated: the local session is already gone; send a LogoutRequest to the IdP if it has an
//   SLO URL and remember its ID; its LogoutResponse must answer that ID, once.
// - IdP-initiated: a verified LogoutRequest ends every session of the NameID (or only those of the
//   named SessionIndex), the upstream is told, and a LogoutResponse goes back to the IdP.
import { errors } from '../errors.js'
import type { GatewayStore, SessionUser } from '../session/store.js'
import type { SamlEntities } from './write/entities.js'
import { LOGOUT_STATUS as STATUS, createLogoutRedirect, createLogoutResponseRedirect } from './write/logout.js'
import type { InboundLogoutRequest, InboundLogoutResponse } from './read/logout-message.js'

export const LOGOUT_REQUEST_TTL_MS = 10 * 60_000

export interface LogoutFlowOptions {
  store: GatewayStore
  entities: SamlEntities
  /** The IdP's SLO URL (XC_SAML_LOGOUT_URL); without it, logout is local only. */
  idpLogoutUrl?: string
  requireSignedRequests: boolean
  /** Tell the upstream that this session ended; true when it acknowledged. */
  notifyUpstream?: (session: { sessionId: string, user: SessionUser }) => Promise<boolean>
}

export interface IdpLogoutResult {
  ended: number
  upstreamNotified: boolean
  /** Where to send the browser with our LogoutResponse, when the IdP has an SLO URL. */
  redirectUrl?: string
}

export class LogoutFlow {
  constructor (private readonly opts: LogoutFlowOptions) {}

  /** After the local session is destroyed: the IdP's logout URL with our LogoutRequest, or undefined. */
  async begin (user: SessionUser | undefined, relayState?: string): Promise<string | undefined> {
    if (user === undefined || this.opts.idpLogoutUrl === undefined) return undefined
    const { id, url } = createLogoutRedirect(this.opts.entities, user, relayState)
    await this.opts.store.putOnce('logout', id, user.nameId, LOGOUT_REQUEST_TTL_MS)
    return url
  }

  /** The IdP's answer to our LogoutRequest: it must answer one we sent, once. */
  async complete (message: InboundLogoutResponse): Promise<{ success: boolean }> {
    if (message.inResponseTo === undefined || (await this.opts.store.takeOnce('logout', message.inResponseTo)) === null) {
      throw new errors.SamlLogoutInResponseTo()
    }
    return { success: message.status === STATUS.success }
  }

  /** A LogoutRequest from the IdP. */
  async endIdpSessions (message: InboundLogoutRequest): Promise<IdpLogoutResult> {
    if (!message.signed && this.opts.requireSignedRequests) throw new errors.SamlLogoutUnsigned()
    const { store } = this.opts
    // Once per LogoutRequest ID, across instances, for as long as the request is fresh enough to be
    // taken (logout-message.ts): a replay within that window ends nothing. IDs are xs:ID (no ':'),
    // so the prefix keeps them apart from the assertion IDs of the same cache.
    if (message.id === '' || !(await store.markAssertionUsed(`logout:${message.id}`, message.refusedAfter))) {
      throw new errors.SamlReplay()
    }
    const ids = message.sessionIndexes.length > 0
      ? [...new Set((await Promise.all(message.sessionIndexes.map((index) => store.sessionsOfSessionIndex(message.nameId, index)))).flat())]
      : await store.sessionsOfNameId(message.nameId)

    let upstreamNotified = true
    for (const sessionId of ids) {
      const session = await store.getSession(sessionId)
      await store.destroySession(sessionId)
      if (session?.user !== undefined && this.opts.notifyUpstream !== undefined) {
        upstreamNotified = (await this.opts.notifyUpstream({ sessionId, user: session.user })) && upstreamNotified
      }
    }
    return {
      ended: ids.length,
      upstreamNotified,
      redirectUrl: this.logoutResponseUrl(message, upstreamNotified ? STATUS.success : STATUS.partial)
    }
  }

  /** A LogoutResponse refusing a request (unsigned, wrong issuer) is not sent: the IdP gets nothing to trust. */
  private logoutResponseUrl (message: InboundLogoutRequest, status: string): string | undefined {
    if (this.opts.idpLogoutUrl === undefined) return undefined
    return createLogoutResponseRedirect(this.opts.entities, {
      inResponseTo: message.id,
      status,
      destination: this.opts.idpLogoutUrl,
      relayState: message.relayState
    })
  }
}
