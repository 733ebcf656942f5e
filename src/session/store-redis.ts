// GatewayStore in Redis (≥ 6.2, one node or a primary), shared by several gateway instances. What
// must be atomic across instances is one command or one MULTI:
// - sessions: SET PX. setSession is a MULTI (SET + SADD into the NameID and NameID+SessionIndex
//   index sets + raise their TTLs) and destroySession a MULTI (DEL + SREM), so a session and its
//   index entries are written and removed together. An index set lives as long as its longest
//   session (a tiny EVAL raises its TTL, never lowers it); members whose session has expired or
//   changed hands are filtered out when read, and dropped.
// - putOnce: SET PX. takeOnce: GETDEL, read and delete in one command, so of any number of
//   concurrent callers on any instance exactly one gets the value (in a MULTI with the ZREM below).
// - putOnceBounded: one script (EVAL runs alone) keeps a sorted set per kind (id → expiry on our
//   clock), drops what has expired from it, evicts the oldest entries past the bound, then SETs.
// - markAssertionUsed: SET NX PX, insert-if-absent with expiry in one command, so exactly one caller
//   ever gets OK (true). PX rather than PXAT: our clock decided the assertion is still valid, and
//   Redis' clock may differ from it.
// - with replicas to wait for (Sentinel), the writes whose loss in a failover would reopen a replay
//   (markAssertionUsed, takeOnce) go on a connection of their own followed by WAIT: see redis-durable.ts.
// A down Redis fails fast (redis-connection.ts): requests get a 503 at once and service resumes by itself.
import { Redis } from 'ioredis'
import type { GatewayStore, OneTimeKind, SessionData, SessionFilter, SessionUser, StoreOptions, StoredSession } from './store.js'
import { whenConnected, type RedisTarget } from './redis-connection.js'
import { checkTtl } from './ttl.js'
import { BOUNDED_PUT, COMPARE_AND_SET, connect, execAll, listed, parseSession, RAISE_TTL, scanAll } from './redis-commands.js'
import { DurableWrites } from './redis-durable.js'

export { failFastOptions } from './redis-connection.js'

export interface StoreLogger {
  warn (obj: object, msg?: string): void
  info? (obj: object, msg?: string): void
}

export interface RedisStoreOptions extends StoreOptions {
  /** Prefix of every key. Default `saml-gateway:`. */
  prefix?: string
  logger?: StoreLogger
  /** Give up a connection attempt after this long. Default 500 ms. */
  connectTimeoutMs?: number
  /**
   * Give up a command that got no answer after this long. Default 2 s: the clock runs while our
   * own event loop is busy too, so a tight timeout turns a login storm into false outages.
   */
  commandTimeoutMs?: number
  /**
   * Replicas that must acknowledge a replay-cache or one-time-ID write before it counts (WAIT).
   * Default 0 for one node, 1 with Sentinel.
   */
  replicasToAck?: number
  /** How long WAIT waits for them; at most 500 ms. */
  replicaAckTimeoutMs?: number
}

export class RedisStore implements GatewayStore {
  private readonly redis: Redis
  private readonly durable?: DurableWrites
  private readonly ownsClient: boolean
  private readonly prefix: string
  private readonly now: () => number
  private readonly logger?: StoreLogger
  private readonly connectTimeoutMs: number
  private down = false
  private errorLogged = false

  /** `target`: a redis:// or rediss:// URL, sentinels, or a client of the caller's (which close() leaves open). */
  constructor (target: string | RedisTarget | Redis, opts: RedisStoreOptions = {}) {
    this.prefix = opts.prefix ?? 'saml-gateway:'
    this.now = opts.now ?? Date.now
    this.logger = opts.logger
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 500
    this.ownsClient = !(target instanceof Redis)
    this.redis = target instanceof Redis ? target : connect(typeof target === 'string' ? { url: target } : target, this.connectTimeoutMs, opts.commandTimeoutMs)
    const sentinel = !(target instanceof Redis) && typeof target !== 'string' && (target.sentinels?.length ?? 0) > 0
    const replicas = opts.replicasToAck ?? (sentinel ? 1 : 0)
    if (replicas > 0) this.durable = new DurableWrites(this.redis, replicas, opts.replicaAckTimeoutMs)
    this.redis.on('error', this.onError)
    this.redis.on('close', this.onClose)
    this.redis.on('ready', this.onReady)
  }

  async getSession (sid: string): Promise<SessionData | null> {
    await this.usable()
    return parseSession(await this.redis.get(this.sessionKey(sid)))
  }

  async setSession (sid: string, data: SessionData, ttlMs: number): Promise<void> {
    const ttl = checkTtl(ttlMs)
    const json = JSON.stringify(data)
    await this.usable()
    const tx = this.redis.multi().set(this.sessionKey(sid), json, 'PX', ttl)
    for (const key of this.indexKeys(data.user)) tx.sadd(key, sid).eval(RAISE_TTL, 1, key, ttl)
    await execAll(tx)
  }

  async destroySession (sid: string): Promise<void> {
    await this.usable()
    const user = parseSession(await this.redis.get(this.sessionKey(sid)))?.user
    const tx = this.redis.multi().del(this.sessionKey(sid))
    for (const key of this.indexKeys(user)) tx.srem(key, sid)
    await execAll(tx)
  }

  async sessionsOfNameId (nameId: string): Promise<string[]> {
    return await this.liveMembers(this.nameIdKey(nameId), user => user.nameId === nameId)
  }

  async sessionsOfSessionIndex (nameId: string, sessionIndex: string): Promise<string[]> {
    return await this.liveMembers(this.sessionIndexKey(nameId, sessionIndex),
      user => user.nameId === nameId && user.sessionIndex === sessionIndex)
  }

  async putOnce (kind: OneTimeKind, id: string, value: string, ttlMs: number): Promise<void> {
    const ttl = checkTtl(ttlMs)
    await this.usable()
    await this.redis.set(this.onceKey(kind, id), value, 'PX', ttl)
  }

  async takeOnce (kind: OneTimeKind, id: string): Promise<string | null> {
    await this.usable()
    const client = this.durable?.client ?? this.redis
    const [value] = await execAll(client.multi().getdel(this.onceKey(kind, id)).zrem(this.onceIndexKey(kind), id))
    // A consumed ID that a failover could bring back would let its response be used twice.
    if (value !== null) await this.durable?.acknowledged()
    return value as string | null
  }

  async putOnceBounded (kind: OneTimeKind, id: string, value: string, ttlMs: number, max: number): Promise<number> {
    const ttl = checkTtl(ttlMs)
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`the bound must be a whole number ≥ 1, got ${max}`)
    await this.usable()
    return Number(await this.redis.eval(BOUNDED_PUT, 2, this.onceKey(kind, id), this.onceIndexKey(kind),
      value, ttl, this.now(), max, id, this.onceKey(kind, '')))
  }

  async markAssertionUsed (assertionId: string, untilMs: number): Promise<boolean> {
    // PX must be ≥ 1; an assertion already past untilMs is refused by validation before this.
    const ttl = Math.max(1, Math.ceil(untilMs - this.now()))
    await this.usable()
    const client = this.durable?.client ?? this.redis
    const first = await client.set(this.replayKey(assertionId), '1', 'PX', ttl, 'NX') === 'OK'
    // Accepted only once a replica has it too: a failover must not forget it.
    if (first) await this.durable?.acknowledged()
    return first
  }

  /** SCAN, not KEYS: counting must not block Redis for the other gateways. */
  async countSessions (): Promise<number> {
    await this.usable()
    return (await scanAll(this.redis, `${this.sessionKey('')}*`)).length
  }

  async listSessions (filter: SessionFilter = {}): Promise<StoredSession[]> {
    await this.usable()
    const sids = filter.nameId !== undefined
      ? await this.redis.smembers(this.nameIdKey(filter.nameId))
      : await scanAll(this.redis, `${this.sessionKey('')}*`).then(keys => keys.map(key => key.slice(this.sessionKey('').length)))
    return await listed(this.redis, sids, sid => this.sessionKey(sid), this.now(), filter)
  }

  async createShared (name: string, value: string): Promise<string> {
    await this.usable()
    const [, stored] = await execAll(this.redis.multi().set(this.sharedKey(name), value, 'NX').get(this.sharedKey(name)))
    return stored as string
  }

  async getShared (name: string): Promise<string | null> {
    await this.usable()
    return await this.redis.get(this.sharedKey(name))
  }

  async replaceShared (name: string, expected: string | null, value: string): Promise<boolean> {
    await this.usable()
    return Number(await this.redis.eval(COMPARE_AND_SET, 1, this.sharedKey(name), expected === null ? '0' : '1', expected ?? '', value)) === 1
  }

  async ping (): Promise<void> {
    await this.usable()
    await this.redis.ping()
  }

  async close (): Promise<void> {
    this.redis.off('error', this.onError)
    this.redis.off('close', this.onClose)
    this.redis.off('ready', this.onReady)
    await this.durable?.close()
    if (!this.ownsClient) return
    // A client that keeps failing must not print "Unhandled error event" while it shuts down.
    this.redis.on('error', () => {})
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit()
        return
      } catch {}
    }
    this.redis.disconnect()
  }

  // Where each record lives; public so that tests can check the TTL a write set.
  sessionKey (sid: string): string { return `${this.prefix}sess:${sid}` }
  onceKey (kind: OneTimeKind, id: string): string { return `${this.prefix}once:${kind}:${id}` }
  onceIndexKey (kind: OneTimeKind): string { return `${this.prefix}once-index:${kind}` }
  replayKey (assertionId: string): string { return `${this.prefix}replay:${assertionId}` }
  sharedKey (name: string): string { return `${this.prefix}shared:${name}` }

  private nameIdKey (nameId: string): string {
    return `${this.prefix}nameid:${encodeURIComponent(nameId)}`
  }

  private sessionIndexKey (nameId: string, sessionIndex: string): string {
    return `${this.prefix}sessionindex:${encodeURIComponent(nameId)}:${encodeURIComponent(sessionIndex)}`
  }

  private indexKeys (user: SessionUser | undefined): string[] {
    if (user === undefined) return []
    const keys = [this.nameIdKey(user.nameId)]
    if (user.sessionIndex !== undefined) keys.push(this.sessionIndexKey(user.nameId, user.sessionIndex))
    return keys
  }

  /** The members of an index set whose session is alive and still belongs there; drops the rest. */
  private async liveMembers (indexKey: string, belongs: (user: SessionUser) => boolean): Promise<string[]> {
    await this.usable()
    const sids = await this.redis.smembers(indexKey)
    if (sids.length === 0) return []
    const sessions = await this.redis.mget(sids.map(sid => this.sessionKey(sid)))
    const live: string[] = []
    const stale: string[] = []
    sids.forEach((sid, i) => {
      const user = parseSession(sessions[i] ?? null)?.user
      if (user !== undefined && belongs(user)) live.push(sid)
      else stale.push(sid)
    })
    if (stale.length > 0) await this.redis.srem(indexKey, ...stale)
    return live.sort()
  }

  /**
   * While a connection attempt is under way, wait for it (at most the connect timeout) instead of
   * failing: without an offline queue, a command sent right after start would be refused. When
   * Redis is ready, or known to be down, the command goes at once and answers for itself.
   */
  private async usable (): Promise<void> {
    await whenConnected(this.redis, this.connectTimeoutMs + 100)
    if (this.durable !== undefined) await whenConnected(this.durable.client, this.connectTimeoutMs + 100)
  }

  // ioredis repeats its error on every reconnect attempt: log the loss once and the first error of
  // each outage, then the recovery.
  private readonly onClose = (): void => {
    if (this.down) return
    this.down = true
    this.logger?.warn({}, 'redis session store: disconnected; reconnecting in the background')
  }

  private readonly onError = (err: Error): void => {
    if (this.errorLogged) return
    this.errorLogged = true
    this.logger?.warn({ err }, 'redis session store: unreachable')
  }

  private readonly onReady = (): void => {
    const wasDown = this.down
    this.down = false
    this.errorLogged = false
    if (wasDown) this.logger?.info?.({}, 'redis session store: reachable again')
  }
}
