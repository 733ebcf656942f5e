// The AuthnRequest that starts a login, in the binding the IdP takes (HTTP-Redirect, or HTTP-POST
// through an auto-submitting form), signed when an SP key is configured. Its NameIDPolicy asks for
// GATEWAY_NAMEID_FORMAT with AllowCreate="true".
import { outgoing, type OutgoingMessage, type SamlEntities } from './entities.js'

/** The AuthnRequest on its way to the IdP, and its ID to remember. */
export function createLoginRequest (entities: SamlEntities, opts: { forceAuthn?: boolean }): { id: string, message: OutgoingMessage } {
  const { binding, url } = entities.endpoints.sso
  const { id, context } = entities.sp.createLoginRequest(entities.idp, binding, {
    forceAuthn: opts.forceAuthn === true ? true : undefined
  }) as { id: string, context: string }
  return { id, message: outgoing(binding, url, 'SAMLRequest', context) }
}
