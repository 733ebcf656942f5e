// Which SAML attributes become which identity claims: GATEWAY_CLAIM_<NAME> names the attribute(s)
// a claim is read from, comma-separated, tried before the built-in aliases (src/sp/claims.ts);
// GATEWAY_EMAIL_ATTRIBUTE is the older name of GATEWAY_CLAIM_EMAIL. Also the email's case, and the
// attribute that links several Motion users (XCALLY multi-login).
import { ATTRIBUTE_CLAIMS, claimSources, type AttributeClaim } from '../sp/claims.js'
import { str, text, type EnvOf, type ReadContext } from './env.js'

export const claimsSchema = {
  XC_SAML_MULTI_USER_FIELD: str,
  GATEWAY_EMAIL_ATTRIBUTE: str,
  GATEWAY_EMAIL_CASE: { type: 'string', enum: ['preserve', 'lower'], default: 'preserve' },
  GATEWAY_CLAIM_EMAIL: str,
  GATEWAY_CLAIM_NAME: str,
  GATEWAY_CLAIM_GIVEN_NAME: str,
  GATEWAY_CLAIM_FAMILY_NAME: str,
  GATEWAY_CLAIM_PREFERRED_USERNAME: str,
  GATEWAY_CLAIM_OID: str,
  GATEWAY_CLAIM_GROUPS: str,
  GATEWAY_CLAIM_ROLES: str
} as const

export const claimVariable = (claim: AttributeClaim) => `GATEWAY_CLAIM_${claim.toUpperCase()}` as `GATEWAY_CLAIM_${Uppercase<AttributeClaim>}`

export function readClaims (env: EnvOf<typeof claimsSchema>, _ctx: ReadContext) {
  const configured: Partial<Record<AttributeClaim, readonly string[]>> = {}
  for (const claim of ATTRIBUTE_CLAIMS) {
    const value = text(env[claimVariable(claim)]) ?? (claim === 'email' ? text(env.GATEWAY_EMAIL_ATTRIBUTE) : undefined)
    const names = value?.split(',').map((n) => n.trim()).filter((n) => n !== '') ?? []
    if (names.length > 0) configured[claim] = names
  }
  return {
    attributes: {
      /** Attribute names per identity claim, in order: GATEWAY_CLAIM_<NAME> first, then the built-in aliases. */
      sources: claimSources(configured),
      /** Only what GATEWAY_CLAIM_<NAME> set (for `check`). */
      configured,
      emailCase: env.GATEWAY_EMAIL_CASE,
      multiUserField: text(env.XC_SAML_MULTI_USER_FIELD)
    }
  }
}
