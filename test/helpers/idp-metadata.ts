// IdP metadata as SimpleSAMLphp, Shibboleth or Entra publish it: entity ID, signing certificate,
// SSO and SLO endpoints in the bindings given.
import { IDP_CERT, esc } from './idp.js'

export const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect'
export const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'

export interface MetadataOptions {
  entityId: string
  cert?: string
  sso: Array<[binding: string, url: string]>
  slo?: Array<[binding: string, url: string]>
}

export function idpMetadataXml (o: MetadataOptions): string {
  const body = (o.cert ?? IDP_CERT).replace(/-----[A-Z ]+-----|\s/g, '')
  const endpoints = (name: string, list: Array<[string, string]>) => list.map(([binding, url]) => `<md:${name} Binding="${esc(binding)}" Location="${esc(url)}"/>`).join('')
  return `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(o.entityId)}">` +
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    endpoints('SingleLogoutService', o.slo ?? []) +
    '<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>' +
    endpoints('SingleSignOnService', o.sso) +
    '</md:IDPSSODescriptor></md:EntityDescriptor>'
}
