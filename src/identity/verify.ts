// The public verifier of the identity header (`saml-gateway/verify`), for the upstream to use.
// Self-contained on purpose: it imports jose, claims.ts and once.ts, nothing else of the gateway.
// Each token is taken once (an in-memory jti cache unless given another), and none whose gateway
// session was reported ended (see revokeSession and saml-gateway/express's logout notice).
//
//   import { verifyIdentity } from 'saml-gateway/verify'
//   const who = await verifyIdentity(req.headers, {
//     issuer: 'https://motion.example.com/api/auth/saml', audience: 'https://motion.example.com',
//     jwksUrl: 'http://127.0.0.1:3100/api/auth/saml/jwks.json',
//     method: req.method, url: 'https://motion.example.com/api/login/saml'
//   })
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose'
import type { JSONWebKeySet, JWTVerifyGetKey, JWTVerifyOptions } from 'jose'
import { IDENTITY_HEADER, IDENTITY_MAX_TTL_SECONDS, IDENTITY_TOKEN_TYPE, requestTargetUri } from './claims.js'
import type { IdentityTokenClaims } from './claims.js'
import { defaultJtiCache, defaultSessionRevocations } from './once.js'
import type { JtiCache, SessionRevocations } from './once.js'

export { IDENTITY_HEADER }
export { createMemoryJtiCache, createMemorySessionRevocations } from './once.js'
export type { JtiCache, SessionRevocations } from './once.js'
export type { IdentityClaims, IdentityTokenClaims } from './claims.js'

export type VerifiedIdentity = IdentityTokenClaims

export type IdentityErrorCode =
  | 'IDENTITY_MISSING' | 'IDENTITY_MALFORMED' | 'IDENTITY_SIGNATURE' | 'IDENTITY_KEYS_UNAVAILABLE'
  | 'IDENTITY_ISSUER' | 'IDENTITY_AUDIENCE' | 'IDENTITY_EXPIRED' | 'IDENTITY_NOT_YET_VALID'
  | 'IDENTITY_BINDING' | 'IDENTITY_REPLAY' | 'IDENTITY_SESSION_ENDED'

/** Why a header was refused. `statusCode` is 401, or 503 when the JWKS could not be fetched. */
export class IdentityVerificationError extends Error {
  readonly code: IdentityErrorCode
  readonly statusCode: number
  constructor (code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'IdentityVerificationError'
    this.code = code
    this.statusCode = code === 'IDENTITY_KEYS_UNAVAILABLE' ? 503 : 401
  }
}

export interface VerifyOptions {
  /** The gateway's public base URL (its `iss`). */
  issuer: string
  /** This application's audience, as the gateway is configured (GATEWAY_UPSTREAM_AUDIENCE). */
  audience: string
  /** Method of the request being served. */
  method: string
  /** Absolute URL the gateway called (its GATEWAY_UPSTREAM_LOGIN_URL); query and fragment are ignored. */
  url: string
  /** Exactly one of jwks, jwksUrl (EdDSA) or secret (HS256). */
  jwks?: JSONWebKeySet
  jwksUrl?: string
  secret?: string
  clockToleranceSeconds?: number
  maxAgeSeconds?: number
  /**
   * Each token is accepted once only: by default in a cache of this process (right for one
   * upstream instance); several instances behind a balancer share one (Redis, a database).
   * `false` turns the check off (a test that verifies one token twice).
   */
  jtiCache?: JtiCache | false
  /** Ended gateway sessions whose tokens are refused; default the process-wide list. */
  revocations?: SessionRevocations
  /** Clock in epoch ms; tests fix it. */
  now?: () => number
}

type HeaderBag = Record<string, string | string[] | undefined> | Headers

const remoteJwks = new Map<string, JWTVerifyGetKey>()
const localJwks = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>()

export async function verifyIdentity (headers: HeaderBag, options: VerifyOptions): Promise<VerifiedIdentity> {
  const { alg, key } = verificationKey(options)
  const { clockToleranceSeconds = 5, maxAgeSeconds = IDENTITY_MAX_TTL_SECONDS, now = Date.now } = options
  const token = identityToken(headers)

  const verifyOptions: JWTVerifyOptions = {
    algorithms: [alg], // never 'none', and never HS256 against a public key (alg confusion)
    typ: IDENTITY_TOKEN_TYPE,
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: clockToleranceSeconds,
    maxTokenAge: maxAgeSeconds,
    currentDate: new Date(now()),
    requiredClaims: ['sub', 'sid', 'iat', 'nbf', 'exp', 'jti', 'htm', 'htu']
  }
  let claims: VerifiedIdentity
  try {
    const result = typeof key === 'function'
      ? await jwtVerify(token, key, verifyOptions)
      : await jwtVerify(token, key, verifyOptions)
    claims = result.payload as unknown as VerifiedIdentity
  } catch (err) {
    throw fromJoseError(err, options.jwksUrl !== undefined)
  }

  checkBinding(claims, options)
  const nowSeconds = now() / 1000
  if (await (options.revocations ?? defaultSessionRevocations).isRevoked(claims.sid, nowSeconds)) {
    throw new IdentityVerificationError('IDENTITY_SESSION_ENDED', 'The gateway session of this token has ended (signed out)')
  }
  const jtiCache = options.jtiCache ?? defaultJtiCache
  if (jtiCache !== false) await consumeJti(jtiCache, claims, clockToleranceSeconds, nowSeconds)
  return claims
}

/**
 * Refuse every token of gateway session `sid` from now on: call it when the gateway says the
 * session ended (its logout notice). Kept for as long as a token of that session could still be
 * valid, so the list stays small.
 */
export async function revokeSession (
  sid: string,
  opts: { revocations?: SessionRevocations, clockToleranceSeconds?: number, now?: () => number } = {}
): Promise<void> {
  if (typeof sid !== 'string' || sid === '') throw new TypeError('revokeSession: sid is required')
  const nowSeconds = (opts.now ?? Date.now)() / 1000
  const until = Math.ceil(nowSeconds) + IDENTITY_MAX_TTL_SECONDS + (opts.clockToleranceSeconds ?? 5)
  await (opts.revocations ?? defaultSessionRevocations).revoke(sid, until, nowSeconds)
}

function verificationKey (options: VerifyOptions): { alg: 'EdDSA' | 'HS256', key: JWTVerifyGetKey | Uint8Array } {
  for (const name of ['issuer', 'audience', 'method', 'url'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') {
      throw new TypeError(`verifyIdentity: options.${name} is required`)
    }
  }
  for (const name of ['clockToleranceSeconds', 'maxAgeSeconds'] as const) {
    const value = options[name]
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new TypeError(`verifyIdentity: options.${name} must be a number of seconds, 0 or more`)
    }
  }
  const sources = [options.jwks, options.jwksUrl, options.secret].filter((s) => s !== undefined)
  if (sources.length !== 1) throw new TypeError('verifyIdentity: give exactly one of jwks, jwksUrl or secret')

  if (options.secret !== undefined) {
    const secret = new TextEncoder().encode(options.secret)
    if (secret.byteLength < 32) throw new TypeError('verifyIdentity: the HS256 secret must be at least 32 bytes')
    return { alg: 'HS256', key: secret }
  }
  if (options.jwksUrl !== undefined) {
    let getKey = remoteJwks.get(options.jwksUrl)
    if (getKey === undefined) {
      getKey = createRemoteJWKSet(new URL(options.jwksUrl))
      remoteJwks.set(options.jwksUrl, getKey)
    }
    return { alg: 'EdDSA', key: getKey }
  }
  const jwks = options.jwks!
  let getKey = localJwks.get(jwks)
  if (getKey === undefined) {
    getKey = createLocalJWKSet(jwks)
    localJwks.set(jwks, getKey)
  }
  return { alg: 'EdDSA', key: getKey }
}

/** The one header value. Several headers, or several values folded into one, are refused. */
function identityToken (headers: HeaderBag): string {
  let values: string[]
  if (typeof (headers as Headers).get === 'function') {
    const value = (headers as Headers).get(IDENTITY_HEADER)
    values = value === null ? [] : [value]
  } else {
    values = []
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (name.toLowerCase() !== IDENTITY_HEADER || value === undefined) continue
      values.push(...(Array.isArray(value) ? value : [value]).map(String))
    }
  }
  if (values.length === 0 || (values.length === 1 && values[0].trim() === '')) {
    throw new IdentityVerificationError('IDENTITY_MISSING', `No ${IDENTITY_HEADER} header`)
  }
  // A compact JWS has no comma: one means two headers that fetch or Node joined with ", ".
  if (values.length > 1 || values[0].includes(',')) {
    throw new IdentityVerificationError('IDENTITY_MALFORMED', `More than one ${IDENTITY_HEADER} value`)
  }
  return values[0].trim()
}

function checkBinding (claims: VerifiedIdentity, options: VerifyOptions): void {
  if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.jti !== 'string') {
    throw new IdentityVerificationError('IDENTITY_MALFORMED', 'sub, sid and jti must be strings')
  }
  if (typeof claims.htm !== 'string' || claims.htm.toUpperCase() !== options.method.toUpperCase()) {
    throw new IdentityVerificationError('IDENTITY_BINDING', 'The token was made for another HTTP method')
  }
  let htu: string | undefined
  try {
    htu = typeof claims.htu === 'string' ? requestTargetUri(claims.htu) : undefined
  } catch {}
  if (htu === undefined || htu !== requestTargetUri(options.url)) {
    throw new IdentityVerificationError('IDENTITY_BINDING', 'The token was made for another URL')
  }
}

async function consumeJti (cache: JtiCache, claims: VerifiedIdentity, toleranceSeconds: number, nowSeconds: number): Promise<void> {
  const replayed = () => new IdentityVerificationError('IDENTITY_REPLAY', 'This token has already been used')
  if (await cache.has(claims.jti, nowSeconds)) throw replayed()
  // Remember it for as long as the token could still pass the time checks.
  if (await cache.add(claims.jti, claims.exp + toleranceSeconds, nowSeconds) === false) throw replayed()
}

function fromJoseError (err: unknown, remote: boolean): Error {
  const fail = (code: IdentityErrorCode, message: string) => new IdentityVerificationError(code, message, { cause: err })
  if (err instanceof joseErrors.JWTExpired) return fail('IDENTITY_EXPIRED', 'The token has expired')
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss': return fail('IDENTITY_ISSUER', 'The token was not issued by the expected gateway')
      case 'aud': return fail('IDENTITY_AUDIENCE', 'The token is not meant for this application')
      case 'nbf': case 'iat':
        if (err.reason === 'check_failed') return fail('IDENTITY_NOT_YET_VALID', 'The token is not valid yet')
    }
    return fail('IDENTITY_MALFORMED', `The token claims are not acceptable: ${err.message}`)
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed ||
      err instanceof joseErrors.JOSEAlgNotAllowed ||
      err instanceof joseErrors.JWKSNoMatchingKey ||
      err instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return fail('IDENTITY_SIGNATURE', `The token signature does not verify: ${(err as Error).message}`)
  }
  if (!(err instanceof joseErrors.JOSEError) || err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    // Not the token's fault: the key set could not be fetched (remote), or a bug of the caller's.
    if (!remote) return err as Error
    return fail('IDENTITY_KEYS_UNAVAILABLE', `The gateway keys could not be loaded: ${(err as Error)?.message}`)
  }
  return fail('IDENTITY_MALFORMED', `The token is not a valid JWS: ${err.message}`)
}
