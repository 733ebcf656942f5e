// How strictly SAML messages are judged, and where: clock skew, the signatures required, the
// algorithms allowed, the worker threads that validate login responses off the event loop.
import { availableParallelism } from 'node:os'
import { bool, type EnvOf, type ReadContext } from './env.js'
import { duration } from './values.js'

export const validationSchema = {
  GATEWAY_CLOCK_SKEW: { type: 'string', default: '180s' },
  GATEWAY_ALLOW_IDP_INITIATED: bool(true),
  GATEWAY_WANT_ASSERTIONS_SIGNED: bool(true),
  GATEWAY_ALLOW_SHA1: bool(false),
  GATEWAY_ALLOW_3DES: bool(false),
  GATEWAY_REQUIRE_SIGNED_LOGOUT: bool(true),
  GATEWAY_VALIDATION_WORKERS: { type: 'integer', minimum: 0, maximum: 64, default: availableParallelism() }
} as const

export function readValidation (env: EnvOf<typeof validationSchema>, { problems, warnings }: ReadContext) {
  if (env.GATEWAY_ALLOW_3DES) warnings.push('GATEWAY_ALLOW_3DES=true: assertions encrypted with 3DES-CBC are decrypted. Turn it off as soon as the IdP can encrypt with AES-GCM or AES-CBC')
  return {
    validation: {
      clockSkewMs: duration('GATEWAY_CLOCK_SKEW', env.GATEWAY_CLOCK_SKEW, problems),
      allowIdpInitiated: env.GATEWAY_ALLOW_IDP_INITIATED,
      wantAssertionsSigned: env.GATEWAY_WANT_ASSERTIONS_SIGNED,
      allowSha1: env.GATEWAY_ALLOW_SHA1,
      /** Decrypt assertions encrypted with 3DES-CBC. */
      allow3des: env.GATEWAY_ALLOW_3DES,
      requireSignedLogout: env.GATEWAY_REQUIRE_SIGNED_LOGOUT,
      /** Largest accepted SAML message (base64 characters). */
      maxMessageBytes: 256 * 1024,
      /** Worker threads that validate login responses off the event loop; 0 = on it. */
      workers: env.GATEWAY_VALIDATION_WORKERS
    }
  }
}
