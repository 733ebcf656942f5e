// From a validated assertion to the person the gateway keeps in its session and hands upstream.
// Every IdP names its attributes its own way: Entra and ADFS with claim URIs, Shibboleth,
// SimpleSAMLphp and pysaml2 with urn:oid: or urn:mace:dir:attribute-def: names, Okta, Google and
// Keycloak with plain words. Each identity claim is read from the first attribute present among
// the names the operator set (GATEWAY_CLAIM_<NAME>) and then the built-in aliases below.
import type { ValidatedAssertion } from './types.js'
import type { AssertionClaims, SessionUser } from '../session/store.js'

const CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/'
const ADFS = 'http://schemas.xmlsoap.org/claims/'
const MS_CLAIM = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/'
const MS_IDENTITY = 'http://schemas.microsoft.com/identity/claims/'
const MACE = 'urn:mace:dir:attribute-def:'

/** inetOrgPerson / eduPerson attributes by their urn:oid: names (the "uri" name format). */
const OID = {
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  uid: 'urn:oid:0.9.2342.19200300.100.1.1',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  cn: 'urn:oid:2.5.4.3',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  eduPersonPrincipalName: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  eduPersonAffiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1',
  isMemberOf: 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1'
} as const

/** The identity claims that come from SAML attributes, in the order `check` prints them. */
export const ATTRIBUTE_CLAIMS = ['email', 'name', 'given_name', 'family_name', 'preferred_username', 'oid', 'groups', 'roles'] as const
export type AttributeClaim = typeof ATTRIBUTE_CLAIMS[number]

/** Claims that carry every value of every source attribute; the others take the first value found. */
const LIST_CLAIMS: ReadonlySet<AttributeClaim> = new Set(['groups', 'roles'])

/** Built-in aliases, most specific first: Entra/ADFS URIs, urn:oid:, urn:mace:dir:attribute-def:, plain names. */
export const CLAIM_ALIASES: Readonly<Record<AttributeClaim, readonly string[]>> = {
  email: [`${CLAIM}emailaddress`, `${ADFS}EmailAddress`, OID.mail, `${MACE}mail`, 'email', 'mail', 'emailAddress', 'Email'],
  name: [`${MS_IDENTITY}displayname`, `${ADFS}CommonName`, OID.displayName, `${MACE}displayName`, OID.cn, `${MACE}cn`,
    'displayName', 'name', 'cn', 'fullName', `${CLAIM}name`],
  given_name: [`${CLAIM}givenname`, OID.givenName, `${MACE}givenName`, 'givenName', 'given_name', 'firstName', 'first_name', 'FirstName'],
  family_name: [`${CLAIM}surname`, OID.sn, `${MACE}sn`, 'sn', 'surname', 'family_name', 'lastName', 'last_name', 'LastName'],
  preferred_username: [`${CLAIM}upn`, `${CLAIM}name`, OID.eduPersonPrincipalName, `${MACE}eduPersonPrincipalName`,
    OID.uid, `${MACE}uid`, 'eduPersonPrincipalName', 'preferred_username', 'username', 'uid', 'login'],
  oid: [`${MS_IDENTITY}objectidentifier`],
  groups: [`${MS_CLAIM}groups`, `${ADFS}Group`, OID.isMemberOf, `${MACE}isMemberOf`, 'groups', 'memberOf', 'isMemberOf'],
  roles: [`${MS_CLAIM}role`, OID.eduPersonAffiliation, `${MACE}eduPersonAffiliation`, 'roles', 'role', 'Role']
}

/** Where each claim is read from: the operator's names first, then the built-in aliases. */
export function claimSources (configured: Partial<Record<AttributeClaim, readonly string[]>> = {}): Record<AttributeClaim, readonly string[]> {
  const sources = {} as Record<AttributeClaim, readonly string[]>
  for (const claim of ATTRIBUTE_CLAIMS) sources[claim] = [...new Set([...(configured[claim] ?? []), ...CLAIM_ALIASES[claim]])]
  return sources
}

export interface ClaimOptions {
  /** Attribute names per claim, in order of preference (claimSources). */
  sources: Readonly<Record<AttributeClaim, readonly string[]>>
  emailCase: 'preserve' | 'lower'
  multiUserField?: string
}

export function toSessionUser (assertion: ValidatedAssertion, opts: ClaimOptions, nowMs: number): SessionUser {
  const claims = readClaims(assertion.attributes, opts.sources)
  let email = claims.email as string | undefined
  email ??= /^[^@\s]+@[^@\s]+$/.test(assertion.nameId) ? assertion.nameId : undefined
  if (email !== undefined && opts.emailCase === 'lower') email = email.toLowerCase()
  claims.email = email
  claims.multi_user_key = opts.multiUserField === undefined
    ? undefined
    : opts.multiUserField === 'email' ? email : assertion.attributes[opts.multiUserField]?.[0]
  claims.acr = assertion.authnContextClassRef
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key]

  return withoutUndefined({
    nameId: assertion.nameId,
    nameIdFormat: assertion.nameIdFormat,
    nameQualifier: assertion.nameQualifier,
    spNameQualifier: assertion.spNameQualifier,
    sessionIndex: assertion.sessionIndex,
    issuer: assertion.issuer,
    claims: claims as AssertionClaims,
    authTime: assertion.authnInstant ?? nowMs,
    idpSessionEnd: assertion.sessionNotOnOrAfter
  })
}

/** Each claim from the first source attribute that has a non-empty value (lists: all of them). */
export function readClaims (attrs: Record<string, string[]>, sources: Readonly<Record<AttributeClaim, readonly string[]>>): Record<string, unknown> {
  const claims: Record<string, unknown> = {}
  for (const claim of ATTRIBUTE_CLAIMS) {
    if (LIST_CLAIMS.has(claim)) {
      const values = [...new Set(sources[claim].flatMap((name) => attrs[name] ?? []).filter((v) => v !== ''))]
      claims[claim] = values.length > 0 ? values : undefined
    } else {
      claims[claim] = sources[claim].map((name) => attrs[name]?.find((v) => v !== '')).find((v) => v !== undefined)
    }
  }
  return claims
}

function withoutUndefined<T extends object> (value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key]
  return value
}
