// GatewayStore in process memory, for tests and single-process demos: Maps with an expiry per entry,
// the clock injected. Entries are kept as JSON so callers get copies, as with the other backends.
import { checkMax, checkTtl } from './ttl.js'
import { sessionMatches, type GatewayStore, type OneTimeKind, type SessionData, type SessionFilter, type StoreOptions, type StoredSession } from './store.js'

export interface MemoryStoreOptions extends StoreOptions {
  /** How often expired entries are swept; the timer never keeps the process alive. Default 60 s. */
  purgeIntervalMs?: number
}

interface SessionEntry {
  json: string
  expiresAt: number
  nameId?: string
  sessionIndex?: string
}

interface Expiring<T> {
  value: T
  expiresAt: number
}

export class MemoryStore implements GatewayStore {
  private readonly now: () => number
  private readonly sessions = new Map<string, SessionEntry>()
  /** NameID → session ids; entries of expired sessions are filtered out on read and swept. */
  private readonly byNameId = new Map<string, Set<string>>()
  /** Per kind, in insertion order (oldest first): what putOnceBounded evicts from the front. */
  private readonly once = new Map<OneTimeKind, Map<string, Expiring<string>>>()
  private readonly replay = new Map<string, number>()
  private readonly shared = new Map<string, string>()
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now
    this.timer = setInterval(() => this.purgeExpired(), opts.purgeIntervalMs ?? 60_000)
    this.timer.unref()
  }

  async getSession (sid: string): Promise<SessionData | null> {
    this.assertOpen()
    const entry = this.liveSession(sid)
    return entry === undefined ? null : JSON.parse(entry.json) as SessionData
  }

  async setSession (sid: string, data: SessionData, ttlMs: number): Promise<void> {
    this.assertOpen()
    const json = JSON.stringify(data)
    const expiresAt = this.now() + checkTtl(ttlMs)
    this.removeSession(sid)
    const entry: SessionEntry = { json, expiresAt }
    if (data.user !== undefined) {
      entry.nameId = data.user.nameId
      entry.sessionIndex = data.user.sessionIndex
      let sids = this.byNameId.get(data.user.nameId)
      if (sids === undefined) this.byNameId.set(data.user.nameId, sids = new Set())
      sids.add(sid)
    }
    this.sessions.set(sid, entry)
  }

  async destroySession (sid: string): Promise<void> {
    this.assertOpen()
    this.removeSession(sid)
  }

  async sessionsOfNameId (nameId: string): Promise<string[]> {
    this.assertOpen()
    return [...this.byNameId.get(nameId) ?? []].filter(sid => this.liveSession(sid) !== undefined)
  }

  async sessionsOfSessionIndex (nameId: string, sessionIndex: string): Promise<string[]> {
    this.assertOpen()
    return [...this.byNameId.get(nameId) ?? []]
      .filter(sid => this.liveSession(sid)?.sessionIndex === sessionIndex)
  }

  async putOnce (kind: OneTimeKind, id: string, value: string, ttlMs: number): Promise<void> {
    this.assertOpen()
    const entries = this.onceOf(kind)
    const expiresAt = this.now() + checkTtl(ttlMs)
    entries.delete(id) // a replaced entry becomes the newest
    entries.set(id, { value, expiresAt })
  }

  async takeOnce (kind: OneTimeKind, id: string): Promise<string | null> {
    this.assertOpen()
    const entries = this.onceOf(kind)
    const entry = entries.get(id)
    // Delete before answering: nothing can interleave here, so the first caller is the only one.
    entries.delete(id)
    return entry !== undefined && entry.expiresAt > this.now() ? entry.value : null
  }

  async putOnceBounded (kind: OneTimeKind, id: string, value: string, ttlMs: number, max: number): Promise<number> {
    this.assertOpen()
    checkTtl(ttlMs)
    checkMax(max)
    const entries = this.onceOf(kind)
    entries.delete(id)
    const now = this.now()
    let evicted = 0
    // Oldest first; expired entries are the oldest and go without counting.
    for (const [oldId, entry] of entries) {
      if (entries.size < max) break
      entries.delete(oldId)
      if (entry.expiresAt > now) evicted++
    }
    await this.putOnce(kind, id, value, ttlMs)
    return evicted
  }

  async markAssertionUsed (assertionId: string, untilMs: number): Promise<boolean> {
    this.assertOpen()
    const until = this.replay.get(assertionId)
    if (until !== undefined && until > this.now()) return false
    this.replay.set(assertionId, untilMs)
    return true
  }

  async countSessions (): Promise<number> {
    this.assertOpen()
    const now = this.now()
    let count = 0
    for (const entry of this.sessions.values()) if (entry.expiresAt > now) count++
    return count
  }

  async listSessions (filter?: SessionFilter): Promise<StoredSession[]> {
    this.assertOpen()
    const found: StoredSession[] = []
    for (const [sid, entry] of this.sessions) {
      if (this.liveSession(sid) === undefined) continue
      const { user } = JSON.parse(entry.json) as SessionData
      if (sessionMatches(user, filter)) found.push({ sid, user, expiresAt: entry.expiresAt })
    }
    return found.sort((a, b) => a.expiresAt - b.expiresAt || a.sid.localeCompare(b.sid))
  }

  async createShared (name: string, value: string): Promise<string> {
    this.assertOpen()
    if (!this.shared.has(name)) this.shared.set(name, value)
    return this.shared.get(name) as string
  }

  async getShared (name: string): Promise<string | null> {
    this.assertOpen()
    return this.shared.get(name) ?? null
  }

  async replaceShared (name: string, expected: string | null, value: string): Promise<boolean> {
    this.assertOpen()
    if ((this.shared.get(name) ?? null) !== expected) return false
    this.shared.set(name, value)
    return true
  }

  async ping (): Promise<void> {
    this.assertOpen()
  }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
  }

  /** Drop every expired entry; returns how many went. Runs on a timer, callable from tests. */
  purgeExpired (): number {
    const now = this.now()
    let purged = 0
    for (const [sid, entry] of this.sessions) {
      if (entry.expiresAt <= now) { this.removeSession(sid); purged++ }
    }
    for (const entries of this.once.values()) {
      for (const [id, entry] of entries) {
        if (entry.expiresAt <= now) { entries.delete(id); purged++ }
      }
    }
    for (const [id, until] of this.replay) {
      if (until <= now) { this.replay.delete(id); purged++ }
    }
    return purged
  }

  private onceOf (kind: OneTimeKind): Map<string, Expiring<string>> {
    let entries = this.once.get(kind)
    if (entries === undefined) this.once.set(kind, entries = new Map())
    return entries
  }

  private liveSession (sid: string): SessionEntry | undefined {
    const entry = this.sessions.get(sid)
    return entry !== undefined && entry.expiresAt > this.now() ? entry : undefined
  }

  private removeSession (sid: string): void {
    const entry = this.sessions.get(sid)
    if (entry === undefined) return
    this.sessions.delete(sid)
    if (entry.nameId === undefined) return
    const sids = this.byNameId.get(entry.nameId)
    sids?.delete(sid)
    if (sids?.size === 0) this.byNameId.delete(entry.nameId)
  }

  private assertOpen (): void {
    if (this.closed) throw new Error('memory store is closed')
  }
}
