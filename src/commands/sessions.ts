// `saml-gateway sessions list [--email E | --nameid N] [--json]` and
// `saml-gateway sessions revoke (--email E | --nameid N | --all)`: the operator's view of who is
// signed in, on the configured store (SQLite or Redis: every instance on it sees the same), and a
// way to end it. A revoked session is gone from the store, so every instance refuses its cookie at
// the next request; the upstream is told (GATEWAY_UPSTREAM_LOGOUT_URL) as after an IdP logout.
import type { Dispatcher } from 'undici'
import type { Config } from '../config/index.js'
import type { GatewayStore, SessionFilter, StoredSession } from '../session/store.js'
import { hashSessionId } from '../identity/mint.js'
import { loadIdentityKeys, type IdentityKeys } from '../identity/keys.js'
import { IdentityKeyring } from '../identity/keyring.js'
import { createUpstream } from '../gateway.js'
import { loadConfigOrExit, refuseMemoryStore, withStore, type CommandIo } from './store-command.js'

export const SESSIONS_USAGE = `usage: saml-gateway sessions list [--email E | --nameid N] [--json]
       saml-gateway sessions revoke (--email E | --nameid N | --all)
`

interface Parsed { action: 'list' | 'revoke', filter: SessionFilter, all: boolean, json: boolean }

export async function sessionsCommand (argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseArgs(argv)
  if (typeof parsed === 'string') {
    io.err(`saml-gateway sessions: ${parsed}\n${SESSIONS_USAGE}`)
    return 64
  }
  const config = loadConfigOrExit(io)
  if (typeof config === 'number') return config
  const refused = refuseMemoryStore(config, io, 'sessions', 'there is nothing to list from outside')
  if (refused !== undefined) return refused
  const now = io.clock ?? Date.now
  return await withStore(config, io, 'sessions', async (store) => {
    const sessions = await store.listSessions(parsed.filter)
    if (parsed.action === 'list') {
      io.out(parsed.json ? JSON.stringify(sessions.map(describe), null, 2) + '\n' : table(sessions))
      return 0
    }
    const result = await revokeSessions(store, sessions, config, { now, dispatcher: io.dispatcher })
    io.out(`revoked ${result.revoked} session(s)` +
      (config.upstream.logoutUrl !== undefined ? `; the upstream acknowledged ${result.notified} of ${result.revoked} notices` : '') + '\n')
    return result.notified === result.revoked || config.upstream.logoutUrl === undefined ? 0 : 2
  })
}

function parseArgs (argv: string[]): Parsed | string {
  const [action, ...rest] = argv
  if (action !== 'list' && action !== 'revoke') return action === undefined ? 'list or revoke?' : `unknown action "${action}"`
  const parsed: Parsed = { action, filter: {}, all: false, json: false }
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]
    const value = rest[i + 1]
    if (flag === '--all') parsed.all = true
    else if (flag === '--json' && action === 'list') parsed.json = true
    else if ((flag === '--email' || flag === '--nameid') && value !== undefined && value !== '') {
      parsed.filter[flag === '--email' ? 'email' : 'nameId'] = value
      i++
    } else return `unexpected "${flag}"${flag.startsWith('--') && value === undefined ? ' (without a value?)' : ''}`
  }
  const chosen = Object.keys(parsed.filter).length + (parsed.all ? 1 : 0)
  if (chosen > 1) return 'one of --email, --nameid, --all'
  if (action === 'revoke' && chosen === 0) return 'revoke needs --email, --nameid or --all'
  if (action === 'list' && parsed.all) return '--all is for revoke; list shows every session without a filter'
  return parsed
}

export interface RevokeResult { revoked: number, notified: number }

/** Ends each session, then tells the upstream (signed, like an IdP logout) about each that had a user. */
export async function revokeSessions (store: GatewayStore, sessions: StoredSession[], config: Config, opts: { now?: () => number, dispatcher?: Dispatcher } = {}): Promise<RevokeResult> {
  for (const session of sessions) await store.destroySession(session.sid)
  const url = config.upstream.logoutUrl
  const owned = sessions.filter(s => s.user !== undefined)
  if (url === undefined || owned.length === 0) return { revoked: sessions.length, notified: 0 }
  const upstream = createUpstream(config, await identityKeys(store, config, opts.now), opts.now ?? Date.now, opts.dispatcher)
  let notified = 0
  for (const { sid, user } of owned) {
    if (await upstream.notifyLogout({ sessionId: sid, user: user! }, 'revoked')) notified++
  }
  return { revoked: sessions.length, notified }
}

async function identityKeys (store: GatewayStore, config: Config, now?: () => number): Promise<IdentityKeys> {
  if (config.identity.keyFile !== undefined || config.identity.secret !== undefined) {
    return await loadIdentityKeys({ dataDir: config.dataDir, ...config.identity })
  }
  return await new IdentityKeyring(store, now).start({ dataDir: config.dataDir, refreshMs: 0 })
}

function describe (s: StoredSession): Record<string, unknown> {
  return {
    // The hash Motion sees as `sid`, never the id itself (it is what the cookie carries).
    sid: hashSessionId(s.sid),
    nameId: s.user?.nameId ?? null,
    email: typeof s.user?.claims.email === 'string' ? s.user.claims.email : null,
    signedInAt: s.user !== undefined ? new Date(s.user.authTime).toISOString() : null,
    expiresAt: new Date(s.expiresAt).toISOString()
  }
}

function table (sessions: StoredSession[]): string {
  const rows = [['SID (HASH)', 'NAMEID', 'EMAIL', 'SIGNED IN', 'EXPIRES'],
    ...sessions.map(describe).map(d => [String(d.sid).slice(0, 16), String(d.nameId ?? '-'), String(d.email ?? '-'), String(d.signedInAt ?? '-'), String(d.expiresAt)])]
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  const lines = rows.map(r => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd())
  return lines.join('\n') + `\n${sessions.length} session(s)\n`
}
