// This service provider: its entity ID (Entra's "Identifier") and, optionally, the key and
// certificate that sign what it sends and decrypt encrypted assertions.
import { required, str, text, type EnvOf, type ReadContext } from './env.js'
import { readPem } from './values.js'

export const spSchema = {
  XC_SAML_ISSUER: str,
  GATEWAY_SP_KEY: str,
  GATEWAY_SP_CERT: str
} as const

export function readSp (env: EnvOf<typeof spSchema>, { problems }: ReadContext) {
  required(env, ['XC_SAML_ISSUER'], problems)
  const key = readPem('GATEWAY_SP_KEY', text(env.GATEWAY_SP_KEY), problems)
  const cert = readPem('GATEWAY_SP_CERT', text(env.GATEWAY_SP_CERT), problems)
  if ((key === undefined) !== (cert === undefined)) problems.push('GATEWAY_SP_KEY and GATEWAY_SP_CERT go together: set both or neither')
  // keyFile: where the key came from, so that `check` can judge the file's mode.
  return { sp: { entityId: text(env.XC_SAML_ISSUER) ?? '', key, cert, keyFile: text(env.GATEWAY_SP_KEY) } }
}
