// Single logout, both directions, free of HTTP framework concerns.
// - SP-initiated: the local session is already gone; send a LogoutRequest to the IdP if it has an
//   SLO URL and remember its ID; its LogoutResponse must answer that ID, once. The NameID goes back
//   exactly as the assertion had it (Format, NameQualifier, SPNameQualifier): IdPs such as Lasso
//   refuse a LogoutRequest whose NameID does not strongly match (SAML core §3.3.4).
// - IdP-initiated: a verified LogoutRequest ends every session of the NameID (or only those of the
//   named SessionIndex), the upstream is told, and a LogoutResponse goes back to the IdP.
import samlify from 'samlify'
import { randomBytes } from 'node:crypto'
import { errors } from '../errors.js'
import type { GatewayStore, SessionUser } from '../session/store.js'
import type { OutgoingMessage, SamlEntities } from './entities.js'
import type { InboundLogoutRequest, InboundLogoutResponse } from './logout-message.js'

export const LOGOUT_REQUEST_TTL_MS = 10 * 60_000
const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  partial: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester'
}

export interface LogoutFlowOptions {
  store: GatewayStore
  entities: SamlEntities
  /** The IdP's SLO URL (XC_SAML_LOGOUT_URL or its metadata); without it, logout is local only. */
  idpLogoutUrl?: string
  /** The clock, epoch ms (IssueInstant). */
  now?: () => number
  requireSignedRequests: boolean
  /** Tell the upstream that this session ended; true when it acknowledged. */
  notifyUpstream?: (session: { sessionId: string, user: SessionUser }) => Promise<boolean>
}

export interface IdpLogoutResult {
  ended: number
  upstreamNotified: boolean
  /** Our LogoutResponse on its way back to the IdP, when the IdP has an SLO URL. */
  response?: OutgoingMessage
}

export class LogoutFlow {
  constructor (private readonly opts: LogoutFlowOptions) {}

  /** After the local session is destroyed: our LogoutRequest on its way to the IdP, or undefined. */
  async begin (user: SessionUser | undefined, relayState?: string): Promise<OutgoingMessage | undefined> {
    const slo = this.opts.entities.endpoints.slo
    if (user === undefined || this.opts.idpLogoutUrl === undefined || slo === undefined) return undefined
    const { sp, idp } = this.opts.entities
    const id = `_${randomBytes(20).toString('hex')}`
    const xml = logoutRequestXml(id, new Date((this.opts.now ?? Date.now)()).toISOString(), slo.url, sp.entityMeta.getEntityID(), user)
    const created = sp.createLogoutRequest(idp, slo.binding, { logoutNameID: user.nameId }, {
      relayState,
      customTagReplacement: () => ({ id, context: xml })
    } as never) as { context: string }
    await this.opts.store.putOnce('logout', id, user.nameId, LOGOUT_REQUEST_TTL_MS)
    return outgoing(slo.binding, slo.url, 'SAMLRequest', created.context, relayState)
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
      response: this.logoutResponse(message, upstreamNotified ? STATUS.success : STATUS.partial)
    }
  }

  /** A LogoutResponse refusing a request (unsigned, wrong issuer) is not sent: the IdP gets nothing to trust. */
  private logoutResponse (message: InboundLogoutRequest, status: string): OutgoingMessage | undefined {
    const slo = this.opts.entities.endpoints.slo
    if (this.opts.idpLogoutUrl === undefined || slo === undefined) return undefined
    const destination = slo.responseUrl ?? slo.url
    const { sp, idp } = this.opts.entities
    const id = `_${randomBytes(20).toString('hex')}`
    const statusXml = status === STATUS.success
      ? `<samlp:StatusCode Value="${STATUS.success}"/>`
      : `<samlp:StatusCode Value="${STATUS.success}"><samlp:StatusCode Value="${status}"/></samlp:StatusCode>`
    const { context } = sp.createLogoutResponse(idp, {} as never, slo.binding, {
      relayState: message.relayState,
      customTagReplacement: () => ({
        id,
        context: samlify.SamlLib.replaceTagsByValue(
          '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status>STATUS</samlp:Status></samlp:LogoutResponse>',
          { ID: id, IssueInstant: new Date((this.opts.now ?? Date.now)()).toISOString(), Destination: destination, InResponseTo: message.id, Issuer: sp.entityMeta.getEntityID() }
        ).replace('STATUS', statusXml)
      })
    } as never) as { context: string }
    return outgoing(slo.binding, destination, 'SAMLResponse', context, message.relayState)
  }
}

/** samlify answers a redirect URL for HTTP-Redirect and the base64 message for HTTP-POST. */
function outgoing (binding: 'redirect' | 'post', url: string, field: 'SAMLRequest' | 'SAMLResponse', context: string, relayState?: string): OutgoingMessage {
  if (binding === 'redirect') return { binding, url: context }
  return { binding, url, fields: relayState === undefined || relayState === '' ? { [field]: context } : { [field]: context, RelayState: relayState } }
}

const esc = (value: string): string => value.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string)
const optional = (name: string, value: string | undefined): string => value === undefined ? '' : ` ${name}="${esc(value)}"`

/** The LogoutRequest naming the subject exactly as the assertion did. */
export function logoutRequestXml (id: string, issueInstant: string, destination: string, issuer: string, user: SessionUser): string {
  return '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
    ` ID="${esc(id)}" Version="2.0" IssueInstant="${esc(issueInstant)}" Destination="${esc(destination)}">` +
    `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
    `<saml:NameID${optional('NameQualifier', user.nameQualifier)}${optional('SPNameQualifier', user.spNameQualifier)}${optional('Format', user.nameIdFormat)}>${esc(user.nameId)}</saml:NameID>` +
    (user.sessionIndex === undefined ? '' : `<samlp:SessionIndex>${esc(user.sessionIndex)}</samlp:SessionIndex>`) +
    '</samlp:LogoutRequest>'
}
