// The IdP: its login and logout URLs, the certificates its signatures must verify with, its entity
// ID (given, derived from an Entra login URL, or read from its metadata).
import { entraIssuers, entraTenant } from '../sp/entra.js'
import { parseCertificates } from './certificates.js'
import { required, str, text, type EnvOf, type ReadContext } from './env.js'
import { url } from './values.js'

export const idpSchema = {
  XC_SAML_ENTRYPOINT: str,
  XC_SAML_CERT: str,
  XC_SAML_LOGOUT_URL: str,
  GATEWAY_IDP_ISSUER: str,
  GATEWAY_IDP_METADATA_URL: str
} as const

export function readIdp (env: EnvOf<typeof idpSchema>, ctx: ReadContext) {
  const { problems } = ctx
  required(env, ['XC_SAML_ENTRYPOINT'], problems)
  const metadataUrl = url('GATEWAY_IDP_METADATA_URL', text(env.GATEWAY_IDP_METADATA_URL), problems)
  const rawCerts = text(env.XC_SAML_CERT) === undefined ? undefined : env.XC_SAML_CERT as string
  if (rawCerts === undefined && text(env.GATEWAY_IDP_METADATA_URL) === undefined) {
    problems.push('XC_SAML_CERT is required (or GATEWAY_IDP_METADATA_URL, to read the certificates from the IdP metadata)')
  }
  const entryPoint = url('XC_SAML_ENTRYPOINT', text(env.XC_SAML_ENTRYPOINT), problems)
  const logoutUrl = url('XC_SAML_LOGOUT_URL', text(env.XC_SAML_LOGOUT_URL), problems)
  const certs = rawCerts === undefined ? undefined : parseCertificates(rawCerts, 'XC_SAML_CERT', ctx.now)
  problems.push(...(certs?.errors ?? []))
  ctx.warnings.push(...(certs?.warnings ?? []))
  if (ctx.expiryWarnings) ctx.warnings.push(...(certs?.expiryWarnings ?? []))
  return {
    idp: {
      entryPoint: entryPoint?.href ?? '',
      certs: certs?.pems ?? [],
      /** Accepted issuers: logins from sts.windows.net, logouts also from login.microsoftonline.com (Entra). */
      issuers: idpIssuers(text(env.GATEWAY_IDP_ISSUER), entryPoint, metadataUrl !== undefined, problems),
      logoutUrl: logoutUrl?.href,
      certExpiry: certs?.earliestExpiry,
      /** IdP metadata to refresh the certificates (and issuer) from. */
      metadataUrl: metadataUrl?.href
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
