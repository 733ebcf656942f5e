// samlify's SP and IdP entities, built once from the configuration. samlify builds what we send
// (AuthnRequest, LogoutRequest, LogoutResponse, metadata: the other files of sp/write); what we
// receive is read by sp/read, which does the checks samlify leaves out.
import samlify from 'samlify'
import type { Config } from '../../config/index.js'
import { NAMEID_FORMATS } from '../../config/sp.js'
import { resolveIdpEndpoints, type IdpEndpoint, type IdpEndpoints } from '../idp-endpoints.js'

const BINDING = samlify.Constants.namespace.binding

export interface SamlEntities {
  sp: samlify.ServiceProviderInstance
  idp: samlify.IdentityProviderInstance
  /** The IdP's SSO and SLO endpoints with the binding each request goes by. */
  endpoints: IdpEndpoints
}

/** A message on its way to the IdP: a redirect URL, or a form the browser posts (HTTP-POST binding). */
export type OutgoingMessage =
  | { binding: 'redirect', url: string }
  | { binding: 'post', url: string, fields: Record<string, string> }

const samlifyEndpoint = (e: IdpEndpoint) => ({ Binding: BINDING[e.binding], Location: e.url })
const spSigns = (config: Config): boolean => config.sp.key !== undefined && config.sp.cert !== undefined

export function createSamlEntities (config: Config, endpoints: IdpEndpoints = resolveIdpEndpoints(config.idp, config.idp.metadata)): SamlEntities {
  const signing = spSigns(config)
  const idp = samlify.IdentityProvider({
    entityID: config.idp.issuers[0],
    wantAuthnRequestsSigned: signing,
    // samlify signs what we send to the IdP when the IdP entity 'wants' it: with an SP key, everything.
    wantLogoutRequestSigned: signing,
    wantLogoutResponseSigned: signing,
    signingCert: [...config.idp.certs],
    singleSignOnService: [samlifyEndpoint(endpoints.sso)],
    singleLogoutService: endpoints.slo === undefined ? [] : [samlifyEndpoint(endpoints.slo)]
  })
  return { sp: createServiceProvider(config), idp, endpoints }
}

/** Our side alone: enough for the SP metadata, which needs nothing of the IdP. */
export function createServiceProvider (config: Config): samlify.ServiceProviderInstance {
  const signing = spSigns(config)
  return samlify.ServiceProvider({
    entityID: config.sp.entityId,
    authnRequestsSigned: signing,
    wantAssertionsSigned: config.validation.wantAssertionsSigned,
    wantLogoutRequestSigned: config.validation.requireSignedLogout,
    wantMessageSigned: false,
    privateKey: config.sp.key,
    signingCert: config.sp.cert,
    encPrivateKey: config.sp.key,
    encryptCert: config.sp.cert,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    // The first is what the AuthnRequest asks for; the metadata lists them all.
    nameIDFormat: [...new Set([config.sp.nameIdFormat, ...Object.values(NAMEID_FORMATS)])],
    allowCreate: true,
    assertionConsumerService: [{ Binding: BINDING.post, Location: config.acsUrl }],
    singleLogoutService: [
      { Binding: BINDING.redirect, Location: config.sloUrl },
      { Binding: BINDING.post, Location: config.sloUrl }
    ]
  })
}

/** samlify answers a redirect URL for HTTP-Redirect and the base64 message for HTTP-POST. */
export function outgoing (binding: 'redirect' | 'post', url: string, field: 'SAMLRequest' | 'SAMLResponse', context: string, relayState?: string): OutgoingMessage {
  if (binding === 'redirect') return { binding, url: context }
  return { binding, url, fields: relayState === undefined || relayState === '' ? { [field]: context } : { [field]: context, RelayState: relayState } }
}
