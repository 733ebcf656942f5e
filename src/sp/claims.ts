// From a validated assertion to the person the gateway keeps in its session and hands upstream.
// Entra names its claims with URIs; other IdPs use short names or OIDs. We take the first that
// is present.
import type { ValidatedAssertion } from './types.js'
import type { SessionUser } from '../session/store.js'

const CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/'
const MS_CLAIM = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/'
const MS_IDENTITY = 'http://schemas.microsoft.com/identity/claims/'

const SOURCES = {
  name: [`${MS_IDENTITY}displayname`, `${CLAIM}name`, 'displayName', 'name', 'cn', 'urn:oid:2.16.840.1.113730.3.1.241'],
  given_name: [`${CLAIM}givenname`, 'givenName', 'given_name', 'firstName', 'urn:oid:2.5.4.42'],
  family_name: [`${CLAIM}surname`, 'sn', 'surname', 'family_name', 'lastName', 'urn:oid:2.5.4.4'],
  oid: [`${MS_IDENTITY}objectidentifier`],
  groups: [`${MS_CLAIM}groups`, 'groups', 'memberOf'],
  roles: [`${MS_CLAIM}role`, 'roles', 'role']
} as const

export interface ClaimOptions {
  email: readonly string[]
  emailCase: 'preserve' | 'lower'
  multiUserField?: string
}

export function toSessionUser (assertion: ValidatedAssertion, opts: ClaimOptions, nowMs: number): SessionUser {
  const attrs = assertion.attributes
  const first = (names: readonly string[]) => names.map((n) => attrs[n]?.[0]).find((v) => v !== undefined && v !== '')
  const all = (names: readonly string[]) => names.flatMap((n) => attrs[n] ?? [])

  let email = first(opts.email) ?? (/^[^@\s]+@[^@\s]+$/.test(assertion.nameId) ? assertion.nameId : undefined)
  if (email !== undefined && opts.emailCase === 'lower') email = email.toLowerCase()
  const multiUserKey = opts.multiUserField === undefined
    ? undefined
    : opts.multiUserField === 'email' ? email : attrs[opts.multiUserField]?.[0]
  const groups = all(SOURCES.groups)
  const roles = all(SOURCES.roles)

  const claims: Record<string, unknown> = {
    email,
    name: first(SOURCES.name),
    given_name: first(SOURCES.given_name),
    family_name: first(SOURCES.family_name),
    oid: first(SOURCES.oid),
    groups: groups.length > 0 ? groups : undefined,
    roles: roles.length > 0 ? roles : undefined,
    multi_user_key: multiUserKey,
    acr: assertion.authnContextClassRef
  }
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key]

  return {
    nameId: assertion.nameId,
    nameIdFormat: assertion.nameIdFormat,
    sessionIndex: assertion.sessionIndex,
    issuer: assertion.issuer,
    claims,
    authTime: assertion.authnInstant ?? nowMs,
    idpSessionEnd: assertion.sessionNotOnOrAfter
  }
}
