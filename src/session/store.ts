// The one seam behind sessions and every piece of server-side SAML state. Each backend lives in its
// own file (store-memory.ts, store-sqlite.ts, store-redis.ts) and has exactly this shape.

import type { IdentityClaims } from '../identity/claims.js'

/** The identity claims read from the assertion; the session and the gateway add the rest. */
export type AssertionClaims = Omit<IdentityClaims, 'sub' | 'sid' | 'session_index' | 'auth_time' | 'profile'>

/** The signed-in person, as the gateway keeps it in the session. */
export interface SessionUser {
  nameId: string
  nameIdFormat?: string
  /** Kept so that our LogoutRequest names the subject exactly as the assertion did (SAML core §3.3.4). */
  nameQualifier?: string
  spNameQualifier?: string
  sessionIndex?: string
  issuer: string
  /** Claims handed to the upstream in the identity header (email, name, groups, …). */
  claims: AssertionClaims
  authTime: number
  /** Epoch ms after which the IdP session is over (SessionNotOnOrAfter), if it said so. */
  idpSessionEnd?: number
  /** The Motion profile chosen on the multi-login page, reused by later handoffs and /auth. */
  profile?: string
}

/** What @fastify/session stores; `user` is set at login. */
export interface SessionData {
  cookie: unknown
  user?: SessionUser
  csrf?: string
  [key: string]: unknown
}

/** One-time values: outstanding AuthnRequests and LogoutRequests. */
export type OneTimeKind = 'authn' | 'logout' | 'pending'

/** The sessions @fastify/session keeps, and the indexes single logout finds them by. */
export interface SessionStore {
  /** @fastify/session: the session, or null when absent or expired. */
  getSession (sid: string): Promise<SessionData | null>
  /** Create or replace; keeps the NameID/SessionIndex index in step with `data.user`. */
  setSession (sid: string, data: SessionData, ttlMs: number): Promise<void>
  /** Remove one session and its index entries. No error if it is gone already. */
  destroySession (sid: string): Promise<void>
  /** Session ids of every live session of a NameID (for IdP-initiated logout). */
  sessionsOfNameId (nameId: string): Promise<string[]>
  /** Session ids of live sessions of a NameID that carry this SessionIndex. */
  sessionsOfSessionIndex (nameId: string, sessionIndex: string): Promise<string[]>
  /** Live sessions, for the active-sessions metric. */
  countSessions (): Promise<number>
  /** Live sessions with their owner, for the operator (`saml-gateway sessions`), soonest to expire first. */
  listSessions (filter?: SessionFilter): Promise<StoredSession[]>
}

/** What the SP asked for (AuthnRequest and LogoutRequest IDs), each answerable once. */
export interface RequestTracker {
  /** Remember a request we sent (its ID) with what we need when the answer comes. */
  putOnce (kind: OneTimeKind, id: string, value: string, ttlMs: number): Promise<void>
  /** Take it back, atomically: only the first caller gets the value; later callers get null. */
  takeOnce (kind: OneTimeKind, id: string): Promise<string | null>
  /**
   * putOnce that keeps at most `max` live entries of `kind`, atomically with the insert: when the
   * kind is full, its oldest entries go first (every entry of a kind has the same TTL, so the
   * oldest is the one closest to expiry anyway). Answers how many live entries it dropped.
   */
  putOnceBounded (kind: OneTimeKind, id: string, value: string, ttlMs: number, max: number): Promise<number>
}

/** Assertion (and LogoutRequest) IDs already used, across every gateway instance. */
export interface ReplayCache {
  /** True the first time an ID is seen, false ever after (until `untilMs`). Atomic. */
  markAssertionUsed (assertionId: string, untilMs: number): Promise<boolean>
}

/** Values every gateway on this store shares: the generated session secret, the identity keyring. */
export interface SharedValues {
  /** Insert if absent, atomically; answers the value now stored, whoever wrote it. */
  createShared (name: string, value: string): Promise<string>
  getShared (name: string): Promise<string | null>
  /** Compare-and-set: replaces the value only if it still is `expected` (null: absent). */
  replaceShared (name: string, expected: string | null, value: string): Promise<boolean>
}

/** One backend serves all of them, so that a login's state lives and fails in one place. */
export interface GatewayStore extends SessionStore, RequestTracker, ReplayCache, SharedValues {
  /** Throws when the backend cannot be reached. */
  ping (): Promise<void>
  close (): Promise<void>
}

/** Which sessions `listSessions` answers: all, those of one NameID, or of one email (any case). */
export interface SessionFilter {
  nameId?: string
  email?: string
}

export interface StoredSession {
  sid: string
  user?: SessionUser
  /** Epoch ms. */
  expiresAt: number
}

/** Whether a session's owner is the one the filter names. */
export function sessionMatches (user: SessionUser | undefined, filter: SessionFilter = {}): boolean {
  if (filter.nameId !== undefined && user?.nameId !== filter.nameId) return false
  if (filter.email !== undefined) {
    const email = user?.claims.email
    if (typeof email !== 'string' || email.toLowerCase() !== filter.email.toLowerCase()) return false
  }
  return true
}

export interface StoreOptions {
  /** Clock in epoch ms; tests fix it. */
  now?: () => number
}
