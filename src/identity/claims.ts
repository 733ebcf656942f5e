// What the gateway and an upstream agree on about the identity header. Both the minter and the
// public verifier (`saml-gateway/verify`) import this file, so it must import nothing itself.

/** The header that carries the signed identity, gateway → upstream. */
export const IDENTITY_HEADER = 'x-gateway-identity'

/** JOSE `typ` of the identity token: keeps it from passing for any other JWT. */
export const IDENTITY_TOKEN_TYPE = 'gateway-identity+jwt'

/** A token lives at most this long (exp − iat): it is made for one request, right now. */
export const IDENTITY_MAX_TTL_SECONDS = 60

/** Who signed in, as the gateway tells the upstream. Only `sub` and `sid` are required. */
export interface IdentityClaims {
  /** The SAML NameID. */
  sub: string
  /** A hash of the gateway session id (see hashSessionId), never the id itself. */
  sid: string
  email?: string
  name?: string
  given_name?: string
  family_name?: string
  /** A login name: UPN, uid or eduPersonPrincipalName, whichever the IdP sends. */
  preferred_username?: string
  /** Entra objectidentifier. */
  oid?: string
  groups?: string[]
  roles?: string[]
  /** The value of XC_SAML_MULTI_USER_FIELD, when configured. */
  multi_user_key?: string
  /** The Motion profile chosen on the multi-login page. */
  profile?: string
  /** The IdP SessionIndex. */
  session_index?: string
  acr?: string
  /** When the IdP authenticated the user, epoch seconds. */
  auth_time?: number
}

/** The identity claims plus what the minter adds to every token. */
export interface IdentityTokenClaims extends IdentityClaims {
  iss: string
  aud: string
  iat: number
  nbf: number
  exp: number
  jti: string
  /** HTTP method of the request the token was made for, upper case. */
  htm: string
  /** URL of that request without query and fragment. */
  htu: string
}

/** Every identity claim name, so the minter copies only these from what it is given. */
export const IDENTITY_CLAIM_NAMES = [
  'sub', 'sid', 'email', 'name', 'given_name', 'family_name', 'preferred_username', 'oid', 'groups', 'roles',
  'multi_user_key', 'profile', 'session_index', 'acr', 'auth_time'
] as const satisfies ReadonlyArray<keyof IdentityClaims>

/** The request URL as bound into `htu`: no query, no fragment, normalised by WHATWG URL. */
export function requestTargetUri (url: string | URL): string {
  const target = new URL(url)
  target.search = ''
  target.hash = ''
  return target.href
}
