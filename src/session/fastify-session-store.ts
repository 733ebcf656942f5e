// Lets @fastify/session keep its sessions in a GatewayStore: its store API is callback-style
// (express-session's), ours is promises. Store failures go to the callback untouched; the app turns
// them into a 503.
import type { SessionStore } from '@fastify/session'
import type { Session } from 'fastify'
import type { GatewayStore, SessionData } from './store.js'

export interface FastifySessionStoreOptions {
  /** TTL of a session whose cookie says nothing (no maxAge, no expires): a browser-session cookie. */
  defaultTtlMs: number
  /** Clock in epoch ms for reading cookie expiry; tests fix it. */
  now?: () => number
}

type Callback = (err?: unknown) => void

export class FastifySessionStore implements SessionStore {
  private readonly store: GatewayStore
  private readonly defaultTtlMs: number
  private readonly now: () => number

  constructor (store: GatewayStore, opts: FastifySessionStoreOptions) {
    if (!(opts.defaultTtlMs > 0)) throw new RangeError('defaultTtlMs must be a positive number of ms')
    this.store = store
    this.defaultTtlMs = opts.defaultTtlMs
    this.now = opts.now ?? Date.now
  }

  get (sid: string, callback: (err: unknown, session?: Session | null) => void): void {
    settle(this.store.getSession(sid), callback, data => data as unknown as Session | null)
  }

  set (sid: string, session: Session, callback: Callback): void {
    const ttlMs = this.ttlOf(session)
    // A cookie that has already expired: keeping its session would only leave garbage behind.
    const saved = ttlMs > 0
      ? this.store.setSession(sid, session as unknown as SessionData, ttlMs)
      : this.store.destroySession(sid)
    settle(saved, callback)
  }

  destroy (sid: string, callback: Callback): void {
    settle(this.store.destroySession(sid), callback)
  }

  /** From the cookie's expires (what the browser will honour), else its maxAge, else the default. */
  private ttlOf (session: Session): number {
    const cookie = (session as { cookie?: unknown }).cookie as { expires?: unknown, maxAge?: unknown } | null | undefined
    const expires = cookie?.expires
    if (expires instanceof Date || typeof expires === 'string' || typeof expires === 'number') {
      const at = new Date(expires).getTime()
      if (!Number.isNaN(at)) return at - this.now()
    }
    if (typeof cookie?.maxAge === 'number') return cookie.maxAge
    return this.defaultTtlMs
  }
}

/**
 * Hand a promise's outcome to a node-style callback, outside the promise chain: an exception
 * thrown by the callback must not call it a second time nor become an unhandled rejection.
 */
function settle<T, R = void> (
  promise: Promise<T>,
  callback: (err: unknown, value?: R) => void,
  map: (value: T) => R = () => undefined as R
): void {
  promise.then(
    value => process.nextTick(callback, null, map(value)),
    (err: unknown) => process.nextTick(callback, err)
  )
}
