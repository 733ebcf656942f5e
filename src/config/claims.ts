// Which SAML attributes become which identity claims: the email attribute and its case, and the
// attribute that links several Motion users (XCALLY multi-login).
import { ENTRA_CLAIM } from '../sp/entra.js'
import { str, text, type EnvOf, type ReadContext } from './env.js'

export const claimsSchema = {
  XC_SAML_MULTI_USER_FIELD: str,
  GATEWAY_EMAIL_ATTRIBUTE: str,
  GATEWAY_EMAIL_CASE: { type: 'string', enum: ['preserve', 'lower'], default: 'preserve' }
} as const

const DEFAULT_EMAIL_ATTRIBUTES: readonly string[] = [ENTRA_CLAIM.email, 'email', 'mail', 'urn:oid:0.9.2342.19200300.100.1.3']

export function readClaims (env: EnvOf<typeof claimsSchema>, _ctx: ReadContext) {
  const email = text(env.GATEWAY_EMAIL_ATTRIBUTE)
  return {
    attributes: {
      email: email !== undefined ? [email] : DEFAULT_EMAIL_ATTRIBUTES,
      emailCase: env.GATEWAY_EMAIL_CASE,
      multiUserField: text(env.XC_SAML_MULTI_USER_FIELD)
    }
  }
}
