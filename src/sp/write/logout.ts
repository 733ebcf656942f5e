// The logout messages we send, HTTP-Redirect binding, signed when an SP key is configured: our
// LogoutRequest (SP-initiated logout) and our LogoutResponse to the IdP's LogoutRequest.
import samlify from 'samlify'
import { randomBytes } from 'node:crypto'
import type { SamlEntities } from './entities.js'

export const LOGOUT_STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  partial: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester'
} as const

const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'

/** A fresh xs:ID for a message of ours. */
function messageId (): string {
  return `_${randomBytes(20).toString('hex')}`
}

/** A LogoutRequest for this person's IdP session, as a redirect URL, and its ID to remember. */
export function createLogoutRedirect (
  entities: SamlEntities,
  who: { nameId: string, nameIdFormat?: string, sessionIndex?: string },
  relayState?: string
): { id: string, url: string } {
  const { sp, idp } = entities
  const id = messageId()
  const { context } = sp.createLogoutRequest(idp, 'redirect', { logoutNameID: who.nameId, sessionIndex: who.sessionIndex }, {
    relayState,
    customTagReplacement: (template: string, tags: Record<string, string>) => ({
      id,
      context: samlify.SamlLib.replaceTagsByValue(who.sessionIndex === undefined ? template.replace(/<samlp:SessionIndex>\{SessionIndex\}<\/samlp:SessionIndex>/, '') : template, {
        ...tags,
        ID: id,
        NameIDFormat: who.nameIdFormat ?? UNSPECIFIED
      })
    })
  } as never) as { context: string }
  return { id, url: context }
}

/** Our LogoutResponse to the IdP's LogoutRequest `inResponseTo`, as a redirect URL to `destination`. */
export function createLogoutResponseRedirect (
  entities: SamlEntities,
  answer: { inResponseTo: string, status: string, destination: string, relayState?: string }
): string {
  const { sp, idp } = entities
  const id = messageId()
  const statusXml = answer.status === LOGOUT_STATUS.success
    ? `<samlp:StatusCode Value="${LOGOUT_STATUS.success}"/>`
    : `<samlp:StatusCode Value="${LOGOUT_STATUS.success}"><samlp:StatusCode Value="${answer.status}"/></samlp:StatusCode>`
  const { context } = sp.createLogoutResponse(idp, {} as never, 'redirect', {
    relayState: answer.relayState,
    customTagReplacement: () => ({
      id,
      context: samlify.SamlLib.replaceTagsByValue(
        '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status>STATUS</samlp:Status></samlp:LogoutResponse>',
        { ID: id, IssueInstant: new Date().toISOString(), Destination: answer.destination, InResponseTo: answer.inResponseTo, Issuer: sp.entityMeta.getEntityID() }
      ).replace('STATUS', statusXml)
    })
  } as never) as { context: string }
  return context
}
