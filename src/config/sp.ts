// This service provider: its entity ID (Entra's "Identifier") and, optionally, the key and
// certificate that sign what it sends and decrypt encrypted assertions.
import { required, str, text, type EnvOf, type ReadContext } from './env.js'
import { readPem } from './values.js'

/** GATEWAY_NAMEID_FORMAT → the URI the AuthnRequest asks for. */
export const NAMEID_FORMATS = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'
} as const

export const spSchema = {
  XC_SAML_ISSUER: str,
  GATEWAY_SP_KEY: str,
  GATEWAY_SP_CERT: str,
  GATEWAY_NAMEID_FORMAT: { type: 'string', enum: ['email', 'persistent', 'transient', 'unspecified'], default: 'unspecified' }
} as const

export function readSp (env: EnvOf<typeof spSchema>, { problems }: ReadContext) {
  required(env, ['XC_SAML_ISSUER'], problems)
  const key = readPem('GATEWAY_SP_KEY', text(env.GATEWAY_SP_KEY), problems)
  const cert = readPem('GATEWAY_SP_CERT', text(env.GATEWAY_SP_CERT), problems)
  if ((key === undefined) !== (cert === undefined)) problems.push('GATEWAY_SP_KEY and GATEWAY_SP_CERT go together: set both or neither')
  /** The NameID format the AuthnRequest asks for (GATEWAY_NAMEID_FORMAT, as a URI). */
  const nameIdFormat: string = NAMEID_FORMATS[env.GATEWAY_NAMEID_FORMAT]
  // keyFile: where the key came from, so that `check` can judge the file's mode.
  return { sp: { entityId: text(env.XC_SAML_ISSUER) ?? '', key, cert, keyFile: text(env.GATEWAY_SP_KEY), nameIdFormat } }
}
