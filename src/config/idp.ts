// The IdP: its login and logout URLs, the certificates its signatures must verify with, its entity
// ID (given, derived from an Entra login URL, or read from its metadata). With IdP metadata (a file
// read here, or a URL fetched at start) its entity ID, certificates, SSO/SLO endpoints and bindings
// are used, and XC_SAML_ENTRYPOINT / XC_SAML_CERT become optional.
import { resolve } from 'node:path'
import { entraIssuers, entraTenant } from '../sp/entra.js'
import { parseCertificates } from './certificates.js'
import { str, text, type EnvOf, type ReadContext } from './env.js'
import { url } from './values.js'
import { readIdpMetadataFile } from './idp-metadata.js'

export const idpSchema = {
  XC_SAML_ENTRYPOINT: str,
  XC_SAML_CERT: str,
  XC_SAML_LOGOUT_URL: str,
  GATEWAY_IDP_ISSUER: str,
  GATEWAY_IDP_METADATA_URL: str,
  GATEWAY_IDP_METADATA_FILE: str,
  GATEWAY_REQUEST_BINDING: { type: 'string', enum: ['redirect', 'post'] }
} as const

export function readIdp (env: EnvOf<typeof idpSchema>, ctx: ReadContext) {
  const { problems } = ctx
  const metadataUrl = url('GATEWAY_IDP_METADATA_URL', text(env.GATEWAY_IDP_METADATA_URL), problems)
  const metadataFile = text(env.GATEWAY_IDP_METADATA_FILE) === undefined ? undefined : resolve(ctx.cwd, text(env.GATEWAY_IDP_METADATA_FILE) as string)
  const metadata = metadataFile === undefined ? undefined : readIdpMetadataFile('GATEWAY_IDP_METADATA_FILE', metadataFile, ctx.now, problems)
  if (metadataUrl !== undefined && metadataFile !== undefined) problems.push('GATEWAY_IDP_METADATA_URL and GATEWAY_IDP_METADATA_FILE: set one or the other')
  const withMetadata = text(env.GATEWAY_IDP_METADATA_URL) !== undefined || metadataFile !== undefined
  if (text(env.XC_SAML_ENTRYPOINT) === undefined && !withMetadata) problems.push('XC_SAML_ENTRYPOINT is required (or GATEWAY_IDP_METADATA_URL / GATEWAY_IDP_METADATA_FILE, to read the IdP login URL from its metadata)')
  if (metadata !== undefined && text(env.XC_SAML_ENTRYPOINT) === undefined && metadata.sso.length === 0) problems.push('GATEWAY_IDP_METADATA_FILE: the metadata has no SingleSignOnService and XC_SAML_ENTRYPOINT is unset')
  const rawCerts = text(env.XC_SAML_CERT) === undefined ? undefined : env.XC_SAML_CERT as string
  if (rawCerts === undefined && !withMetadata) {
    problems.push('XC_SAML_CERT is required (or GATEWAY_IDP_METADATA_URL / GATEWAY_IDP_METADATA_FILE, to read the certificates from the IdP metadata)')
  }
  const entryPoint = url('XC_SAML_ENTRYPOINT', text(env.XC_SAML_ENTRYPOINT), problems)
  const logoutUrl = url('XC_SAML_LOGOUT_URL', text(env.XC_SAML_LOGOUT_URL), problems)
  const certs = rawCerts === undefined ? undefined : parseCertificates(rawCerts, 'XC_SAML_CERT', ctx.now)
  problems.push(...(certs?.errors ?? []))
  ctx.warnings.push(...(certs?.warnings ?? []))
  if (ctx.expiryWarnings) ctx.warnings.push(...(certs?.expiryWarnings ?? []))
  const issuers = idpIssuers(text(env.GATEWAY_IDP_ISSUER), entryPoint, withMetadata, problems)
  return {
    idp: {
      /** XC_SAML_ENTRYPOINT; absent when the IdP metadata names the SSO endpoint. */
      entryPoint: entryPoint?.href,
      // With a metadata file, the metadata wins: its certificates and its entity ID (first).
      certs: metadata?.signingCerts ?? certs?.pems ?? [],
      /** Accepted issuers: logins from sts.windows.net, logouts also from login.microsoftonline.com (Entra). */
      issuers: metadata === undefined || metadata.entityId === '' ? issuers : [...new Set([metadata.entityId, ...issuers])],
      logoutUrl: logoutUrl?.href,
      certExpiry: metadata === undefined ? certs?.earliestExpiry : undefined,
      /** IdP metadata to refresh the certificates (and issuer) from. */
      metadataUrl: metadataUrl?.href,
      /** GATEWAY_IDP_METADATA_FILE, read at start: entity ID, certificates, endpoints and bindings. */
      metadataFile,
      metadata,
      /** GATEWAY_REQUEST_BINDING: how AuthnRequests and LogoutRequests go; unset = as the metadata offers, else redirect. */
      requestBinding: env.GATEWAY_REQUEST_BINDING
    }
  }
}

function idpIssuers (explicit: string | undefined, entryPoint: URL | undefined, fromMetadata: boolean, problems: string[]): string[] {
  const tenant = entryPoint !== undefined ? entraTenant(entryPoint.href) : undefined
  const entra = tenant !== undefined ? entraIssuers(tenant) : []
  if (explicit !== undefined) return [...new Set([explicit, ...entra])]
  if (entra.length === 0 && entryPoint !== undefined && !fromMetadata) {
    problems.push('GATEWAY_IDP_ISSUER is required: XC_SAML_ENTRYPOINT is not an Entra login URL, so the IdP entity ID cannot be derived from it')
  }
  return entra
}
