// The AuthnRequest that starts a login: HTTP-Redirect binding, signed when an SP key is configured.
import type { SamlEntities } from './entities.js'

/** The AuthnRequest as a redirect URL to the IdP, and its ID to remember. */
export function createLoginRedirect (entities: SamlEntities, opts: { forceAuthn?: boolean }): { id: string, url: string } {
  const { id, context } = entities.sp.createLoginRequest(entities.idp, 'redirect', {
    forceAuthn: opts.forceAuthn === true ? true : undefined
  }) as { id: string, context: string }
  return { id, url: context }
}
