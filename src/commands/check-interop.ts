// What `saml-gateway check` says about an IdP other than Entra: where each identity claim is read
// from, and where the IdP metadata and the XC_SAML_* values disagree (the metadata wins).
import { X509Certificate } from 'node:crypto'
import { request } from 'undici'
import type { Config } from '../config/index.js'
import { ATTRIBUTE_CLAIMS, CLAIM_ALIASES } from '../sp/claims.js'
import { claimVariable } from '../config/claims.js'
import { parseIdpMetadata } from '../sp/read/idp-metadata.js'
import { endpointDisagreements, resolveIdpEndpoints, type MetadataEndpoints } from '../sp/idp-endpoints.js'

export interface ClaimMappingRow {
  claim: string
  variable: string
  /** GATEWAY_CLAIM_<NAME>, when set. */
  configured: readonly string[]
  builtIn: readonly string[]
}

export function claimMapping (config: Config): ClaimMappingRow[] {
  return ATTRIBUTE_CLAIMS.map((claim) => ({
    claim,
    variable: claimVariable(claim),
    configured: config.attributes.configured[claim] ?? [],
    builtIn: CLAIM_ALIASES[claim]
  }))
}

export function formatClaimMapping (rows: readonly ClaimMappingRow[]): string[] {
  const lines = ['', 'Identity claims are read from these SAML attributes (the first one present wins):']
  for (const row of rows) {
    const set = row.configured.length > 0 ? `${row.variable}: ${row.configured.join(', ')}; then ` : ''
    lines.push(`  ${row.claim.padEnd(19)} ${set}built-in: ${row.builtIn.join(', ')}`)
  }
  lines.push('  sub                 the NameID; email falls back to it when it looks like an address')
  return lines
}

/** Problems and warnings about the IdP metadata (file, or URL fetched now). */
export async function idpMetadataFindings (config: Config, timeoutMs: number): Promise<{ problems: string[], warnings: string[], endpoints?: string[] }> {
  const problems: string[] = []
  const warnings: string[] = []
  let metadata: MetadataEndpoints & { readonly signingCerts: readonly string[] } | undefined = config.idp.metadata
  const variable = config.idp.metadataUrl !== undefined ? 'GATEWAY_IDP_METADATA_URL' : 'GATEWAY_IDP_METADATA_FILE'
  if (metadata === undefined && config.idp.metadataUrl !== undefined) {
    try {
      const res = await request(config.idp.metadataUrl, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      const body = await res.body.text()
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
      metadata = parseIdpMetadata(body)
    } catch (err) {
      const message = `GATEWAY_IDP_METADATA_URL: ${config.idp.metadataUrl} cannot be read now (${(err as Error).message})`
      // The gateway can still start from its last good copy or from XC_SAML_*; without either it cannot.
      if (config.idp.entryPoint === undefined || config.idp.certs.length === 0) problems.push(`${message}, and XC_SAML_ENTRYPOINT / XC_SAML_CERT do not stand in for it (unless a copy is kept in GATEWAY_DATA_DIR). Fix: correct the URL or set them`)
      else warnings.push(`${message}; XC_SAML_ENTRYPOINT and XC_SAML_CERT are used until it can`)
      return { problems, warnings }
    }
  }
  if (metadata === undefined) return { problems, warnings }
  const env = { entryPoint: config.idp.entryPoint, logoutUrl: config.idp.logoutUrl, requestBinding: config.idp.requestBinding }
  warnings.push(...endpointDisagreements(env, metadata))
  if (config.idp.metadataUrl !== undefined && config.idp.certs.length > 0) {
    const fromMetadata = new Set(metadata.signingCerts.map(fingerprint))
    if (!config.idp.certs.some((pem) => fromMetadata.has(fingerprint(pem)))) {
      warnings.push('XC_SAML_CERT is none of the signing certificates in the IdP metadata: the metadata wins. Fix: unset XC_SAML_CERT, or paste the current certificate')
    }
  }
  let endpoints: string[] | undefined
  try {
    const chosen = resolveIdpEndpoints(env, metadata)
    endpoints = [`AuthnRequests go to ${chosen.sso.url} (HTTP-${chosen.sso.binding === 'post' ? 'POST' : 'Redirect'})`,
      chosen.slo === undefined ? 'single logout towards the IdP is off (no SingleLogoutService)' : `LogoutRequests go to ${chosen.slo.url} (HTTP-${chosen.slo.binding === 'post' ? 'POST' : 'Redirect'})`]
  } catch (err) {
    problems.push(`${variable}: ${(err as Error).message}`)
  }
  return { problems, warnings, endpoints }
}

function fingerprint (pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256
  } catch {
    return pem
  }
}
