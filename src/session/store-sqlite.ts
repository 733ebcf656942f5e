// GatewayStore in one SQLite file (better-sqlite3 12): the embedded default, survives restarts.
// The driver is synchronous, so every statement runs whole before any other JavaScript does; the
// one-time and replay operations are still single statements so that they stay atomic even when
// a second process opens the same file (WAL mode, short busy timeout).
import Database from 'better-sqlite3'
import { checkMax, checkTtl } from './ttl.js'
import { sessionMatches, type GatewayStore, type OneTimeKind, type SessionData, type SessionFilter, type StoreOptions, type StoredSession } from './store.js'
import { openPrivateFile, SQLITE_COMPANIONS } from './file-modes.js'

export interface SqliteStoreOptions extends StoreOptions {
  /** The database file; created when missing. */
  path: string
  /** How often expired rows are deleted; the timer never keeps the process alive. Default 60 s. */
  purgeIntervalMs?: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  sid TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  name_id TEXT,
  session_index TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_name_id ON sessions (name_id, session_index);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS one_time (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS one_time_by_expiry ON one_time (expires_at);
CREATE INDEX IF NOT EXISTS one_time_by_kind_expiry ON one_time (kind, expires_at);
CREATE TABLE IF NOT EXISTS replay (
  assertion_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_by_expiry ON replay (expires_at);
CREATE TABLE IF NOT EXISTS shared (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`

export class SqliteStore implements GatewayStore {
  private readonly db: Database.Database
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout
  private readonly sql: ReturnType<typeof prepare>
  private readonly boundedPut: Database.Transaction<(kind: OneTimeKind, id: string, value: string, now: number, ttl: number, max: number) => number>

  constructor (opts: SqliteStoreOptions) {
    this.now = opts.now ?? Date.now
    // Made 0600 before SQLite opens it, whatever the umask: SQLite gives the -wal and -shm files the
    // mode of the database file.
    for (const suffix of ['', ...SQLITE_COMPANIONS]) openPrivateFile(opts.path + suffix, suffix === '')
    this.db = new Database(opts.path)
    try {
      this.db.pragma('journal_mode = WAL')
      this.db.pragma('synchronous = NORMAL')
      this.db.pragma('busy_timeout = 1000')
      this.db.exec(SCHEMA)
      this.sql = prepare(this.db)
      this.boundedPut = this.db.transaction((kind: OneTimeKind, id: string, value: string, now: number, ttl: number, max: number) => {
        this.sql.takeOnce.get(kind, id) // a replaced entry is not counted against itself
        const live = this.sql.countOnce.get(kind, now) as number
        const evicted = live >= max ? this.sql.evictOldestOnce.run(kind, now, live - max + 1).changes : 0
        this.sql.putOnce.run(kind, id, value, now + ttl)
        return evicted
      })
    } catch (err) {
      this.db.close()
      throw err
    }
    this.timer = setInterval(() => this.purgeOnTimer(), opts.purgeIntervalMs ?? 60_000)
    this.timer.unref()
  }

  async getSession (sid: string): Promise<SessionData | null> {
    const row = this.sql.getSession.get(sid, this.now()) as { data: string } | undefined
    return row === undefined ? null : JSON.parse(row.data) as SessionData
  }

  async setSession (sid: string, data: SessionData, ttlMs: number): Promise<void> {
    this.sql.setSession.run({
      sid,
      data: JSON.stringify(data),
      expiresAt: this.now() + checkTtl(ttlMs),
      nameId: data.user?.nameId ?? null,
      sessionIndex: data.user?.sessionIndex ?? null
    })
  }

  async destroySession (sid: string): Promise<void> {
    this.sql.destroySession.run(sid)
  }

  async sessionsOfNameId (nameId: string): Promise<string[]> {
    return this.sql.sessionsOfNameId.all(nameId, this.now()) as string[]
  }

  async sessionsOfSessionIndex (nameId: string, sessionIndex: string): Promise<string[]> {
    return this.sql.sessionsOfSessionIndex.all(nameId, sessionIndex, this.now()) as string[]
  }

  async putOnce (kind: OneTimeKind, id: string, value: string, ttlMs: number): Promise<void> {
    this.sql.putOnce.run(kind, id, value, this.now() + checkTtl(ttlMs))
  }

  async takeOnce (kind: OneTimeKind, id: string): Promise<string | null> {
    // One DELETE … RETURNING: the row goes to exactly one caller, expired or not.
    const row = this.sql.takeOnce.get(kind, id) as { value: string, expires_at: number } | undefined
    return row !== undefined && row.expires_at > this.now() ? row.value : null
  }

  async putOnceBounded (kind: OneTimeKind, id: string, value: string, ttlMs: number, max: number): Promise<number> {
    const ttl = checkTtl(ttlMs)
    checkMax(max)
    // IMMEDIATE: the write lock is taken before counting, so two processes on one file cannot both
    // see room for one more.
    return this.boundedPut.immediate(kind, id, value, this.now(), ttl, max)
  }

  async markAssertionUsed (assertionId: string, untilMs: number): Promise<boolean> {
    // Insert-if-absent in one statement; an expired row counts as absent and is taken over.
    return this.sql.markAssertionUsed.run({ assertionId, untilMs, now: this.now() }).changes === 1
  }

  async countSessions (): Promise<number> {
    return this.sql.countSessions.get(this.now()) as number
  }

  async listSessions (filter: SessionFilter = {}): Promise<StoredSession[]> {
    const rows = (filter.nameId !== undefined
      ? this.sql.listSessionsOfNameId.all(filter.nameId, this.now())
      : this.sql.listSessions.all(this.now())) as Array<{ sid: string, data: string, expires_at: number }>
    return rows.map(row => ({ sid: row.sid, user: (JSON.parse(row.data) as SessionData).user, expiresAt: row.expires_at }))
      .filter(session => sessionMatches(session.user, filter))
  }

  async createShared (name: string, value: string): Promise<string> {
    this.sql.createShared.run(name, value)
    return this.sql.getShared.get(name) as string
  }

  async getShared (name: string): Promise<string | null> {
    return (this.sql.getShared.get(name) as string | undefined) ?? null
  }

  async replaceShared (name: string, expected: string | null, value: string): Promise<boolean> {
    const result = expected === null
      ? this.sql.createShared.run(name, value)
      : this.sql.replaceShared.run(value, name, expected)
    return result.changes === 1
  }

  async ping (): Promise<void> {
    this.sql.ping.get()
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    if (this.db.open) this.db.close()
  }

  /** Delete every expired row; returns how many went. Runs on a timer, callable from tests. */
  purgeExpired (): number {
    const now = this.now()
    return this.db.transaction(() =>
      this.sql.purgeSessions.run(now).changes +
      this.sql.purgeOnce.run(now).changes +
      this.sql.purgeReplay.run(now).changes)()
  }

  private purgeOnTimer (): void {
    try {
      this.purgeExpired()
    } catch {
      // A busy or failing file shows up on the next request and in ping(); the next tick retries.
    }
  }
}

function prepare (db: Database.Database) {
  return {
    getSession: db.prepare('SELECT data FROM sessions WHERE sid = ? AND expires_at > ?'),
    setSession: db.prepare(`
      INSERT INTO sessions (sid, data, expires_at, name_id, session_index)
      VALUES (@sid, @data, @expiresAt, @nameId, @sessionIndex)
      ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at,
        name_id = excluded.name_id, session_index = excluded.session_index`),
    destroySession: db.prepare('DELETE FROM sessions WHERE sid = ?'),
    sessionsOfNameId: db.prepare(
      'SELECT sid FROM sessions WHERE name_id = ? AND expires_at > ? ORDER BY sid').pluck(),
    sessionsOfSessionIndex: db.prepare(
      'SELECT sid FROM sessions WHERE name_id = ? AND session_index = ? AND expires_at > ? ORDER BY sid'
    ).pluck(),
    putOnce: db.prepare(`
      INSERT INTO one_time (kind, id, value, expires_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`),
    takeOnce: db.prepare('DELETE FROM one_time WHERE kind = ? AND id = ? RETURNING value, expires_at'),
    countOnce: db.prepare('SELECT count(*) FROM one_time WHERE kind = ? AND expires_at > ?').pluck(),
    evictOldestOnce: db.prepare(`
      DELETE FROM one_time WHERE rowid IN (
        SELECT rowid FROM one_time WHERE kind = ? AND expires_at > ? ORDER BY expires_at, rowid LIMIT ?)`),
    markAssertionUsed: db.prepare(`
      INSERT INTO replay (assertion_id, expires_at) VALUES (@assertionId, @untilMs)
      ON CONFLICT (assertion_id) DO UPDATE SET expires_at = excluded.expires_at
      WHERE replay.expires_at <= @now`),
    countSessions: db.prepare('SELECT count(*) FROM sessions WHERE expires_at > ?').pluck(),
    listSessions: db.prepare('SELECT sid, data, expires_at FROM sessions WHERE expires_at > ? ORDER BY expires_at, sid'),
    listSessionsOfNameId: db.prepare(
      'SELECT sid, data, expires_at FROM sessions WHERE name_id = ? AND expires_at > ? ORDER BY expires_at, sid'),
    createShared: db.prepare('INSERT INTO shared (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    getShared: db.prepare('SELECT value FROM shared WHERE name = ?').pluck(),
    replaceShared: db.prepare('UPDATE shared SET value = ? WHERE name = ? AND value = ?'),
    ping: db.prepare('SELECT 1'),
    purgeSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    purgeOnce: db.prepare('DELETE FROM one_time WHERE expires_at <= ?'),
    purgeReplay: db.prepare('DELETE FROM replay WHERE expires_at <= ?')
  }
}
