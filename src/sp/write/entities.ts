// samlify's SP and IdP entities, built once from the configuration. samlify builds what we send
// (AuthnRequest, LogoutRequest, LogoutResponse, metadata: the other files of sp/write); what we
// receive is read by sp/read, which does the checks samlify leaves out.
import samlify from 'samlify'
import type { Config } from '../../config/index.js'

const BINDING = samlify.Constants.namespace.binding

export interface SamlEntities {
  sp: samlify.ServiceProviderInstance
  idp: samlify.IdentityProviderInstance
}

export function createSamlEntities (config: Config): SamlEntities {
  const signing = config.sp.key !== undefined && config.sp.cert !== undefined
  const sp = samlify.ServiceProvider({
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
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
    assertionConsumerService: [{ Binding: BINDING.post, Location: config.acsUrl }],
    singleLogoutService: [
      { Binding: BINDING.redirect, Location: config.sloUrl },
      { Binding: BINDING.post, Location: config.sloUrl }
    ]
  })
  const idp = samlify.IdentityProvider({
    entityID: config.idp.issuers[0],
    wantAuthnRequestsSigned: signing,
    // samlify signs what we send to the IdP when the IdP entity 'wants' it: with an SP key, everything.
    wantLogoutRequestSigned: signing,
    wantLogoutResponseSigned: signing,
    signingCert: [...config.idp.certs],
    singleSignOnService: [{ Binding: BINDING.redirect, Location: config.idp.entryPoint }],
    singleLogoutService: config.idp.logoutUrl !== undefined
      ? [{ Binding: BINDING.redirect, Location: config.idp.logoutUrl }]
      : []
  })
  return { sp, idp }
}
