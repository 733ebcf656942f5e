// Single logout, both directions, free of HTTP framework concerns.
// - SP-initiated: the local session is already gone; send a LogoutRequest to the IdP if it has an
//   SLO endpoint and remember its ID; its LogoutResponse must answer that ID, once.
// - IdP-initiated: a verified LogoutRequest ends every session of the NameID (or only those of the
//   named SessionIndex), the upstream is told, and a LogoutResponse goes back to the IdP.
import { errors } from '../errors.js'
import type { GatewayStore, SessionUser } from '../session/store.js'
import type { OutgoingMessage, SamlEntities } from './write/entities.js'
import { LOGOUT_STATUS as STATUS, createLogoutRequest, createLogoutResponse } from './write/logout.js'
import type { InboundLogoutRequest, InboundLogoutResponse } from './read/logout-message.js'

export const LOGOUT_REQUEST_TTL_MS = 10 * 60_000

export interface LogoutFlowOptions {
  store: GatewayStore
  entities: SamlEntities
  /** The clock, epoch ms (IssueInstant). */
  now?: () => number
  requireSignedRequests: boolean
  /** Tell the upstream that this session ended; true when it acknowledged. */
  notifyUpstream?: (session: { sessionId: string, user: SessionUser }) => Promise<boolean>
}

export interface IdpLogoutResult {
  ended: number
  upstreamNotified: boolean
  /** Our LogoutResponse on its way back to the IdP, when the IdP has an SLO endpoint. */
  response?: OutgoingMessage
}

export class LogoutFlow {
  constructor (private readonly opts: LogoutFlowOptions) {}

  /** After the local session is destroyed: our LogoutRequest on its way to the IdP (its SLO endpoint, from XC_SAML_LOGOUT_URL or its metadata), or undefined. */
  async begin (user: SessionUser | undefined, relayState?: string): Promise<OutgoingMessage | undefined> {
    if (user === undefined) return undefined
    const request = createLogoutRequest(this.opts.entities, user, { relayState, nowMs: (this.opts.now ?? Date.now)() })
    if (request === undefined) return undefined
    await this.opts.store.putOnce('logout', request.id, user.nameId, LOGOUT_REQUEST_TTL_MS)
    return request.message
  }

  /** The IdP's answer to our LogoutRequest: it must answer one we sent, once. */
  async complete (message: InboundLogoutResponse): Promise<{ success: boolean, status: string }> {
    if (message.inResponseTo === undefined || (await this.opts.store.takeOnce('logout', message.inResponseTo)) === null) {
      throw new errors.SamlLogoutInResponseTo()
    }
    return { success: message.status === STATUS.success, status: message.status === '' ? 'no status' : message.status }
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
      response: createLogoutResponse(this.opts.entities, {
        inResponseTo: message.id,
        status: upstreamNotified ? STATUS.success : STATUS.partial,
        relayState: message.relayState,
        nowMs: (this.opts.now ?? Date.now)()
      })
    }
  }
}
