// From a validated assertion to the person the gateway keeps in its session and hands upstream.
// Entra names its claims with URIs; other IdPs use short names or OIDs. We take the first that
// is present.
import type { ValidatedAssertion } from './types.js'
import type { AssertionClaims, SessionUser } from '../session/store.js'
import { ENTRA_CLAIM } from './entra.js'

const SOURCES = {
  name: [ENTRA_CLAIM.displayName, ENTRA_CLAIM.name, 'displayName', 'name', 'cn', 'urn:oid:2.16.840.1.113730.3.1.241'],
  given_name: [ENTRA_CLAIM.givenName, 'givenName', 'given_name', 'firstName', 'urn:oid:2.5.4.42'],
  family_name: [ENTRA_CLAIM.surname, 'sn', 'surname', 'family_name', 'lastName', 'urn:oid:2.5.4.4'],
  oid: [ENTRA_CLAIM.objectId],
  groups: [ENTRA_CLAIM.groups, 'groups', 'memberOf'],
  roles: [ENTRA_CLAIM.role, 'roles', 'role']
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

  const claims = withoutUndefined<AssertionClaims>({
    email,
    name: first(SOURCES.name),
    given_name: first(SOURCES.given_name),
    family_name: first(SOURCES.family_name),
    oid: first(SOURCES.oid),
    groups: groups.length > 0 ? groups : undefined,
    roles: roles.length > 0 ? roles : undefined,
    multi_user_key: multiUserKey,
    acr: assertion.authnContextClassRef
  })

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

/** Claims the assertion does not carry are absent, not undefined: JSON and the token stay lean. */
function withoutUndefined<T extends object> (value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key]
  return value
}
