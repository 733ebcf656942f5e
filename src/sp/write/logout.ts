// The logout messages we send, in the binding of the IdP's SLO endpoint (HTTP-Redirect, or HTTP-POST
// through an auto-submitting form), signed when an SP key is configured: our LogoutRequest
// (SP-initiated logout) and our LogoutResponse to the IdP's LogoutRequest.
//
// The LogoutRequest names the subject exactly as the assertion did (Format, NameQualifier,
// SPNameQualifier): IdPs such as Lasso refuse one whose NameID does not strongly match (SAML core
// §3.3.4), and a NameID that came without them goes back without them.
import samlify from 'samlify'
import { randomBytes } from 'node:crypto'
import { outgoing, type OutgoingMessage, type SamlEntities } from './entities.js'

export const LOGOUT_STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  partial: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester'
} as const

/** The subject of a LogoutRequest, as the assertion named it. */
export interface LogoutSubject {
  nameId: string
  nameIdFormat?: string
  nameQualifier?: string
  spNameQualifier?: string
  sessionIndex?: string
}

/** A fresh xs:ID for a message of ours. */
function messageId (): string {
  return `_${randomBytes(20).toString('hex')}`
}

const esc = (value: string): string => value.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string)
const optional = (name: string, value: string | undefined): string => value === undefined ? '' : ` ${name}="${esc(value)}"`

export function logoutRequestXml (id: string, issueInstant: string, destination: string, issuer: string, who: LogoutSubject): string {
  return '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
    ` ID="${esc(id)}" Version="2.0" IssueInstant="${esc(issueInstant)}" Destination="${esc(destination)}">` +
    `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
    `<saml:NameID${optional('NameQualifier', who.nameQualifier)}${optional('SPNameQualifier', who.spNameQualifier)}${optional('Format', who.nameIdFormat)}>${esc(who.nameId)}</saml:NameID>` +
    (who.sessionIndex === undefined ? '' : `<samlp:SessionIndex>${esc(who.sessionIndex)}</samlp:SessionIndex>`) +
    '</samlp:LogoutRequest>'
}

/** A LogoutRequest for this person's IdP session, on its way to the IdP's SLO endpoint, and its ID to remember. */
export function createLogoutRequest (entities: SamlEntities, who: LogoutSubject, opts: { relayState?: string, nowMs: number }): { id: string, message: OutgoingMessage } | undefined {
  const slo = entities.endpoints.slo
  if (slo === undefined) return undefined
  const { sp, idp } = entities
  const id = messageId()
  const xml = logoutRequestXml(id, new Date(opts.nowMs).toISOString(), slo.url, sp.entityMeta.getEntityID(), who)
  const { context } = sp.createLogoutRequest(idp, slo.binding, { logoutNameID: who.nameId }, {
    relayState: opts.relayState,
    customTagReplacement: () => ({ id, context: xml })
  } as never) as { context: string }
  return { id, message: outgoing(slo.binding, slo.url, 'SAMLRequest', context, opts.relayState) }
}

/** Our LogoutResponse to the IdP's LogoutRequest `inResponseTo`, on its way to the IdP's SLO endpoint. */
export function createLogoutResponse (
  entities: SamlEntities,
  answer: { inResponseTo: string, status: string, relayState?: string, nowMs: number }
): OutgoingMessage | undefined {
  const slo = entities.endpoints.slo
  if (slo === undefined) return undefined
  const destination = slo.responseUrl ?? slo.url
  const { sp, idp } = entities
  const id = messageId()
  const statusXml = answer.status === LOGOUT_STATUS.success
    ? `<samlp:StatusCode Value="${LOGOUT_STATUS.success}"/>`
    : `<samlp:StatusCode Value="${LOGOUT_STATUS.success}"><samlp:StatusCode Value="${answer.status}"/></samlp:StatusCode>`
  const { context } = sp.createLogoutResponse(idp, {} as never, slo.binding, {
    relayState: answer.relayState,
    customTagReplacement: () => ({
      id,
      context: samlify.SamlLib.replaceTagsByValue(
        '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status>STATUS</samlp:Status></samlp:LogoutResponse>',
        { ID: id, IssueInstant: new Date(answer.nowMs).toISOString(), Destination: destination, InResponseTo: answer.inResponseTo, Issuer: sp.entityMeta.getEntityID() }
      ).replace('STATUS', statusXml)
    })
  } as never) as { context: string }
  return outgoing(slo.binding, destination, 'SAMLResponse', context, answer.relayState)
}
