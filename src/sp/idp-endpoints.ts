// Where and how the gateway sends its requests to the IdP. With IdP metadata (file or URL) the
// metadata decides: its SSO and SLO endpoints and their bindings; XC_SAML_ENTRYPOINT and
// XC_SAML_LOGOUT_URL are the fallback when the metadata has none. GATEWAY_REQUEST_BINDING picks
// the binding; unset, HTTP-Redirect when the IdP offers it, else HTTP-POST.
import type { IdpEndpoint } from './read/idp-metadata.js'

export type { IdpEndpoint } from './read/idp-metadata.js'

export interface IdpEndpoints {
  sso: IdpEndpoint
  /** Absent: single logout towards the IdP is off. */
  slo?: IdpEndpoint
}

export interface IdpEndpointSettings {
  entryPoint?: string
  logoutUrl?: string
  requestBinding?: 'redirect' | 'post'
}

/** The endpoints of IdP metadata, as read (possibly frozen). */
export interface MetadataEndpoints { readonly sso: readonly IdpEndpoint[], readonly slo: readonly IdpEndpoint[] }

export function resolveIdpEndpoints (settings: IdpEndpointSettings, metadata?: MetadataEndpoints): IdpEndpoints {
  const sso = chooseEndpoint(metadata?.sso ?? [], settings.entryPoint, settings.requestBinding)
  if (sso === undefined) throw new Error('no IdP login URL: the IdP metadata has no SingleSignOnService in a binding the gateway speaks, and XC_SAML_ENTRYPOINT is unset')
  const slo = chooseEndpoint(metadata?.slo ?? [], settings.logoutUrl, settings.requestBinding)
  return slo === undefined ? { sso } : { sso, slo }
}

/** The endpoint in the wanted binding; else Redirect, else POST; else the configured URL. */
export function chooseEndpoint (offered: readonly IdpEndpoint[], fallbackUrl: string | undefined, wanted?: 'redirect' | 'post'): IdpEndpoint | undefined {
  const inBinding = (binding: 'redirect' | 'post') => offered.find((e) => e.binding === binding)
  if (wanted !== undefined) {
    const exact = inBinding(wanted)
    if (exact !== undefined) return exact
    const url = offered[0]?.url ?? fallbackUrl
    return url === undefined ? undefined : { binding: wanted, url }
  }
  const found = inBinding('redirect') ?? inBinding('post')
  if (found !== undefined) return found
  return fallbackUrl === undefined ? undefined : { binding: 'redirect', url: fallbackUrl }
}

/** Where the metadata and the XC_SAML_* values disagree, for `check`: the metadata wins. */
export function endpointDisagreements (settings: IdpEndpointSettings, metadata: MetadataEndpoints): string[] {
  const found: string[] = []
  const compare = (variable: string, value: string | undefined, offered: readonly IdpEndpoint[], what: string) => {
    if (value === undefined || offered.length === 0 || offered.some((e) => e.url === value)) return
    found.push(`${variable} (${value}) is not the ${what} in the IdP metadata (${offered.map((e) => e.url).join(', ')}): the metadata wins. Fix: unset ${variable}, or correct it`)
  }
  compare('XC_SAML_ENTRYPOINT', settings.entryPoint, metadata.sso, 'SingleSignOnService')
  compare('XC_SAML_LOGOUT_URL', settings.logoutUrl, metadata.slo, 'SingleLogoutService')
  return found
}
