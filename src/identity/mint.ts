// Mint the identity header the gateway sends to the upstream: a short-lived compact JWS bound to
// the one request it is made for (htm/htu), so a token lifted from a log or a proxy is useless
// anywhere else and a minute later.
import { createHash, randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import type { JWTPayload } from 'jose'
import {
  IDENTITY_CLAIM_NAMES, IDENTITY_HEADER, IDENTITY_MAX_TTL_SECONDS, IDENTITY_TOKEN_TYPE, requestTargetUri
} from './claims.js'
import type { IdentityClaims, IdentityTokenClaims } from './claims.js'
import type { IdentityKeys } from './keys.js'

export { IDENTITY_HEADER }
export type { IdentityClaims, IdentityTokenClaims }

export interface IdentityMinterOptions {
  /** The gateway's public base URL. */
  issuer: string
  /** GATEWAY_UPSTREAM_AUDIENCE, by default the upstream URL's origin. */
  audience: string
  /** Lifetime of a token, 1 to 60 s; default 60. */
  ttlSeconds?: number
  /** Clock in epoch ms; tests fix it. */
  now?: () => number
}

export interface IdentityMinter {
  /** A compact JWS for the request `method url`, to send as the IDENTITY_HEADER. */
  mint (claims: IdentityClaims, request: { method: string, url: string }): Promise<string>
}

/** What goes into `sid`: the session id itself must never leave the gateway. */
export function hashSessionId (sid: string): string {
  return createHash('sha256').update(sid).digest('base64url')
}

export function createIdentityMinter (keys: IdentityKeys, opts: IdentityMinterOptions): IdentityMinter {
  const { issuer, audience, ttlSeconds = IDENTITY_MAX_TTL_SECONDS, now = Date.now } = opts
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('identity minter: issuer is required')
  if (typeof audience !== 'string' || audience === '') throw new TypeError('identity minter: audience is required')
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > IDENTITY_MAX_TTL_SECONDS) {
    throw new RangeError(`identity minter: ttlSeconds must be a whole number from 1 to ${IDENTITY_MAX_TTL_SECONDS}`)
  }

  return {
    async mint (claims, request) {
      if (typeof claims.sub !== 'string' || claims.sub === '') throw new TypeError('identity: sub is required')
      if (typeof claims.sid !== 'string' || claims.sid === '') throw new TypeError('identity: sid is required')
      const iat = Math.floor(now() / 1000)
      const payload: IdentityTokenClaims = {
        ...pickIdentityClaims(claims),
        iss: issuer,
        aud: audience,
        iat,
        nbf: iat,
        exp: iat + ttlSeconds,
        jti: randomBytes(16).toString('base64url'),
        htm: request.method.toUpperCase(),
        htu: requestTargetUri(request.url)
      }
      // Read at each mint: a shared keyring switches keys during a rotation.
      const { kid, signingKey } = keys.signer?.() ?? keys
      return await new SignJWT(payload as unknown as JWTPayload).setProtectedHeader({ alg: keys.alg, kid, typ: IDENTITY_TOKEN_TYPE }).sign(signingKey)
    }
  }
}

/** Only the claims we know, and none that is undefined: the caller cannot smuggle iss, exp, … */
function pickIdentityClaims (claims: IdentityClaims): IdentityClaims {
  const picked: Record<string, unknown> = {}
  for (const name of IDENTITY_CLAIM_NAMES) {
    if (claims[name] !== undefined) picked[name] = claims[name]
  }
  return picked as unknown as IdentityClaims
}
