// Reading IdP metadata (Entra's federationmetadata.xml or any SAML 2.0 EntityDescriptor): the
// entity ID, every signing certificate, the SSO/SLO Redirect URLs, and how long it may be cached.
import { certificatePem } from '../certificate.js'
import { NS as SAML_NS, attr, childElements, firstChild, parseXml, refuseDoctype, trimmedTextOf } from './xml.js'

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata'
const DS = SAML_NS.ds
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect'
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'

/** An SSO or SLO endpoint in a binding the gateway speaks (Redirect or POST), in metadata order. */
export interface IdpEndpoint {
  binding: 'redirect' | 'post'
  url: string
  /** SLO only: where LogoutResponses go, when not to `url`. */
  responseUrl?: string
}

export interface IdpMetadata {
  entityId: string
  /** PEM certificates of every KeyDescriptor with use="signing" or no use. */
  signingCerts: string[]
  ssoRedirectUrl?: string
  sloRedirectUrl?: string
  sso: IdpEndpoint[]
  slo: IdpEndpoint[]
  /** Epoch ms. */
  validUntil?: number
  cacheDurationMs?: number
}

export function parseIdpMetadata (xml: string, wantedEntityId?: string): IdpMetadata {
  refuseDoctype(xml)
  const root = parseXml(xml).documentElement
  const descriptors = root.localName === 'EntitiesDescriptor' && root.namespaceURI === MD
    ? childElements(root, MD, 'EntityDescriptor')
    : root.localName === 'EntityDescriptor' && root.namespaceURI === MD ? [root] : []
  const entity = descriptors.find((d) => wantedEntityId === undefined || attr(d, 'entityID') === wantedEntityId) ?? descriptors[0]
  if (entity === undefined) throw new Error('no md:EntityDescriptor in the metadata')
  const idp = firstChild(entity, MD, 'IDPSSODescriptor')
  if (idp === null) throw new Error('the EntityDescriptor has no IDPSSODescriptor')

  const signingCerts: string[] = []
  for (const key of childElements(idp, MD, 'KeyDescriptor')) {
    const use = attr(key, 'use')
    if (use !== undefined && use !== 'signing') continue
    const keyInfo = firstChild(key, DS, 'KeyInfo')
    for (const data of keyInfo === null ? [] : childElements(keyInfo, DS, 'X509Data')) {
      for (const cert of childElements(data, DS, 'X509Certificate')) {
        const body = trimmedTextOf(cert).replace(/\s+/g, '')
        if (body !== '') signingCerts.push(certificatePem(body))
      }
    }
  }
  const endpoint = (name: string) => childElements(idp, MD, name).find((e) => attr(e, 'Binding') === REDIRECT)
  const endpoints = (name: string): IdpEndpoint[] => childElements(idp, MD, name).flatMap((e) => {
    const binding = attr(e, 'Binding') === REDIRECT ? 'redirect' : attr(e, 'Binding') === POST ? 'post' : undefined
    const url = attr(e, 'Location')
    if (binding === undefined || url === undefined || url === '') return []
    const responseUrl = attr(e, 'ResponseLocation')
    return [responseUrl === undefined || responseUrl === '' ? { binding, url } : { binding, url, responseUrl }]
  })
  const validUntil = [attr(root, 'validUntil'), attr(entity, 'validUntil')].filter((v): v is string => v !== undefined).map(Date.parse).filter(Number.isFinite)
  const cacheDuration = [attr(root, 'cacheDuration'), attr(entity, 'cacheDuration')].filter((v): v is string => v !== undefined).map(isoDurationMs).filter((v): v is number => v !== undefined)
  return {
    entityId: attr(entity, 'entityID') ?? '',
    signingCerts: [...new Set(signingCerts)],
    ssoRedirectUrl: endpoint('SingleSignOnService') === undefined ? undefined : attr(endpoint('SingleSignOnService') as Element, 'Location'),
    sloRedirectUrl: endpoint('SingleLogoutService') === undefined ? undefined : attr(endpoint('SingleLogoutService') as Element, 'Location'),
    sso: endpoints('SingleSignOnService'),
    slo: endpoints('SingleLogoutService'),
    validUntil: validUntil.length > 0 ? Math.min(...validUntil) : undefined,
    cacheDurationMs: cacheDuration.length > 0 ? Math.min(...cacheDuration) : undefined
  }
}

/** xs:duration (PnYnMnDTnHnMnS) → ms; months as 30 days, years as 365. */
export function isoDurationMs (value: string): number | undefined {
  const m = /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim())
  if (m === null || value.trim() === 'P' || value.trim().endsWith('T')) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0))
  return Math.round(((((y * 365 + mo * 30 + d) * 24 + h) * 60 + mi) * 60 + s) * 1000)
}
