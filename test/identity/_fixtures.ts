// What the identity tests share: a fixed clock, the parties, and a token's every claim.
import type { IdentityClaims } from '../../src/identity/claims.js'

/** A fixed clock, in epoch ms: 2025-03-01T12:00:00Z. */
export const T0 = Date.UTC(2025, 2, 1, 12, 0, 0)
export const at = (ms: number) => () => ms

export const ISSUER = 'https://motion.example.com'
export const AUDIENCE = 'https://motion.example.com'
export const LOGIN_URL = 'https://motion.example.com/api/login/saml'

export const SECRET = 'a-shared-secret-that-is-long-enough-for-hs256!'

export const fullClaims: Required<IdentityClaims> = {
  sub: 'alice@example.com',
  sid: 'c2Vzc2lvbi1oYXNo',
  email: 'alice@example.com',
  name: 'Alice Example',
  given_name: 'Alice',
  family_name: 'Example',
  preferred_username: 'alice',
  oid: '00000000-0000-0000-0000-00000000a11c',
  groups: ['g-agents', 'g-supervisors'],
  roles: ['agent'],
  multi_user_key: 'alice@example.com',
  profile: 'alice-supervisor',
  session_index: '_session-index-1',
  acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  auth_time: Math.floor(T0 / 1000) - 30
}
