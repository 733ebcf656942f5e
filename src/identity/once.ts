// What lets an upstream take each identity token once, and none after its session ended: a jti
// cache and a list of ended sessions, both in memory by default. Imports nothing, like claims.ts,
// so that `saml-gateway/verify` and `saml-gateway/express` stay self-contained.

/** Remembers token ids until they expire. `add` may return false to say "already there" atomically. */
export interface JtiCache {
  /** `nowSeconds` is the verifier's clock (epoch seconds), for caches that judge expiry themselves. */
  has (jti: string, nowSeconds?: number): boolean | Promise<boolean>
  /** Keep `jti` until `expSeconds` (epoch seconds). */
  add (jti: string, expSeconds: number, nowSeconds?: number): void | boolean | Promise<void | boolean>
}

/** Gateway sessions (`sid` claims) that have ended: their tokens are refused from then on. */
export interface SessionRevocations {
  isRevoked (sid: string, nowSeconds?: number): boolean | Promise<boolean>
  /** Refuse tokens of `sid` until `untilSeconds` (epoch seconds): after that none can still be valid. */
  revoke (sid: string, untilSeconds: number, nowSeconds?: number): void | Promise<void>
}

/** Entries that expire, in a Map, purged at most once a second. */
function expiringSet (clock: () => number) {
  const entries = new Map<string, number>()
  let lastPurge = -Infinity
  const nowOf = (given?: number) => given ?? clock() / 1000
  return {
    entries,
    live (key: string, nowSeconds?: number): boolean {
      const exp = entries.get(key)
      return exp !== undefined && exp >= nowOf(nowSeconds)
    },
    purge (nowSeconds?: number): void {
      const now = nowOf(nowSeconds)
      if (now - lastPurge < 1 && now >= lastPurge) return
      lastPurge = now
      for (const [key, exp] of entries) if (exp < now) entries.delete(key)
    }
  }
}

/**
 * An in-process JtiCache for a single upstream instance; several instances need a shared one
 * (Redis SET NX EX, a database unique key). The verifier passes its own clock to every call.
 */
export function createMemoryJtiCache (opts: { now?: () => number } = {}): JtiCache & { readonly size: number } {
  const set = expiringSet(opts.now ?? Date.now)
  return {
    has (jti, nowSeconds) {
      return set.live(jti, nowSeconds)
    },
    add (jti, expSeconds, nowSeconds) {
      set.purge(nowSeconds)
      if (set.live(jti, nowSeconds)) return false
      set.entries.set(jti, expSeconds)
      return true
    },
    get size () { return set.entries.size }
  }
}

/** An in-process SessionRevocations, filled by the gateway's logout notices (see saml-gateway/express). */
export function createMemorySessionRevocations (opts: { now?: () => number } = {}): SessionRevocations & { readonly size: number } {
  const set = expiringSet(opts.now ?? Date.now)
  return {
    isRevoked (sid, nowSeconds) {
      return set.live(sid, nowSeconds)
    },
    revoke (sid, untilSeconds, nowSeconds) {
      set.purge(nowSeconds)
      set.entries.set(sid, Math.max(untilSeconds, set.entries.get(sid) ?? 0))
    },
    get size () { return set.entries.size }
  }
}

/** The process-wide defaults that verifyIdentity and the Express middleware share unless given others. */
export const defaultJtiCache = createMemoryJtiCache()
export const defaultSessionRevocations = createMemorySessionRevocations()
