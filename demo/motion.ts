// A stand-in for nginx and XCALLY Motion at once, on one port:
// - nginx: every request under the gateway's base path is proxied to the gateway, bytes as they
//   are, cookies both ways, with X-Forwarded-Proto/For/Host (as deploy/nginx/saml-gateway.conf does);
// - Motion: GET / says who is signed in (its own motion_session cookie) or offers "Login with SAML";
//   POST /api/login/saml is GATEWAY_UPSTREAM_LOGIN_URL: the saml-gateway/express middleware
//   verifies X-Gateway-Identity (once only), then the route answers as HANDOFF.md says: 300 with
//   profiles for a multi-login user, 404 with a message for an unknown one, or a session;
//   POST /api/logout/saml is GATEWAY_UPSTREAM_LOGOUT_URL: the gateway's notice that the IdP ended
//   a session; GET /logout ends the Motion session and goes on to the gateway's logout.
// Its pages have no scripts at all.
import { randomBytes } from 'node:crypto'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { JSONWebKeySet } from 'jose'
import {
  answer, createMemoryJtiCache, createMemorySessionRevocations, gatewayIdentity, identityOf, logoutNotice,
  profileOf, returnToOf, revokeSession, type GatewayIdentityOptions, type Middleware, type VerifiedIdentity
} from '../src/identity/express.js'
import { closeServer, escapeHtml, guarded, listen, page, readBody, redirect, sendHtml } from './http.js'

/** A Motion user. Several accounts may share one email: XCALLY's multi-login. */
export interface MotionAccount { id: string, email: string, label: string, role: string }

export const DEMO_ACCOUNTS: readonly MotionAccount[] = [
  { id: '101', email: 'alice@contoso.example', label: 'Alice Agent', role: 'agent' },
  { id: '102', email: 'bob@contoso.example', label: 'Bob Supervisor', role: 'supervisor' },
  { id: '103', email: 'carol@contoso.example', label: 'Carol Multi (agent)', role: 'agent' },
  { id: '104', email: 'carol@contoso.example', label: 'Carol Multi (administrator)', role: 'admin' }
]

type Lazy<T> = T | (() => T)
const value = <T>(lazy: Lazy<T>): T => typeof lazy === 'function' ? (lazy as () => T)() : lazy

export interface StandInMotionOptions {
  port?: number
  host?: string
  /** Where the gateway listens (GATEWAY_LISTEN), e.g. http://127.0.0.1:3100; a getter when it starts later. */
  gatewayUrl: Lazy<string>
  /** Motion's public origin (https://DOMAIN); default the URL it listens on. */
  publicOrigin?: string
  /** The gateway's `iss`: default `<publicOrigin><basePath>`. */
  issuer?: string
  /** The gateway's public keys: a JWKS URL (default `<gatewayUrl><basePath>/jwks.json`) or a getter. */
  jwksUrl?: Lazy<string>
  jwks?: () => JSONWebKeySet
  basePath?: string
  accounts?: readonly MotionAccount[]
}

export interface MotionSession { account: MotionAccount, identity: VerifiedIdentity }

export interface StandInMotion {
  url: string
  /** Every identity the login endpoint verified, in order. */
  logins: VerifiedIdentity[]
  /** Why the login endpoint refused a handoff (identity error codes). */
  refusals: string[]
  sessions: Map<string, MotionSession>
  close (): Promise<void>
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate'])
const SESSION_COOKIE = 'motion_session'

export async function startStandInMotion (opts: StandInMotionOptions): Promise<StandInMotion> {
  const host = opts.host ?? '127.0.0.1'
  const basePath = opts.basePath ?? '/api/auth/saml'
  const accounts = opts.accounts ?? DEMO_ACCOUNTS
  // Its own cache and revocation list (not the process-wide defaults): tests run several stacks at once.
  const jtiCache = createMemoryJtiCache()
  const revocations = createMemorySessionRevocations()
  const motion: StandInMotion = { url: '', logins: [], refusals: [], sessions: new Map(), close: async () => {} }
  const origin = () => opts.publicOrigin ?? motion.url
  // Made at the first handoff: the gateway's address is known only once it listens.
  const verifierOptions = (path: string): GatewayIdentityOptions => ({
    issuer: opts.issuer ?? `${origin()}${basePath}`,
    audience: origin(),
    url: `${motion.url}${path}`,
    ...(opts.jwks !== undefined ? { jwks: opts.jwks() } : { jwksUrl: value(opts.jwksUrl ?? (() => `${value(opts.gatewayUrl)}${basePath}/jwks.json`)) }),
    jtiCache,
    revocations,
    onRefused: (err) => { motion.refusals.push(err.code) }
  })
  const middlewares = new Map<string, Middleware>()
  const verified = (path: string, make: (o: GatewayIdentityOptions) => Middleware, req: IncomingMessage, res: ServerResponse) =>
    new Promise<boolean>((resolve, reject) => {
      let middleware = middlewares.get(path)
      if (middleware === undefined || opts.jwks !== undefined) middlewares.set(path, middleware = make(verifierOptions(path)))
      res.once('finish', () => resolve(false))
      middleware(req, res, (err) => err === undefined ? resolve(true) : reject(err))
    })

  const server = createServer(guarded(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === basePath || path.startsWith(`${basePath}/`)) return proxyToGateway(req, res, value(opts.gatewayUrl))
    const route = `${req.method} ${path}`
    switch (route) {
      case 'GET /': return home(req, res)
      case 'POST /api/login/saml': return loginFromGateway(req, res)
      case 'POST /api/logout/saml': return logoutFromGateway(req, res)
      case 'GET /logout': {
        const sid = cookieOf(req, SESSION_COOKIE)
        const session = motion.sessions.get(sid ?? '')
        if (sid !== undefined) motion.sessions.delete(sid)
        // Tokens of the gateway session behind this one are no good any more, even unused ones.
        if (session !== undefined) await revokeSession(session.identity.sid, { revocations })
        return redirect(res, `${basePath}/logout`, { 'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` })
      }
      default:
        return sendHtml(res, 404, motionPage('Not found', `<p>Motion has no page at ${escapeHtml(path)}.</p><p><a href="/">Home</a></p>`))
    }
  }, 'Motion'))

  function home (req: IncomingMessage, res: ServerResponse): void {
    const session = motion.sessions.get(cookieOf(req, SESSION_COOKIE) ?? '')
    if (session === undefined) {
      return sendHtml(res, 200, motionPage('Motion', `<p>You are not signed in.</p>
<p><a class="button" href="${escapeHtml(`${basePath}?returnTo=/`)}">Login with SAML</a></p>`))
    }
    const { account, identity } = session
    const rows: Array<[string, unknown]> = [['Motion user', `${account.label} (#${account.id}, ${account.role})`], ['NameID', identity.sub],
      ['Email', identity.email], ['Name', identity.name], ['Object ID', identity.oid], ['Authenticated', identity.auth_time !== undefined ? new Date(identity.auth_time * 1000).toISOString() : undefined]]
    const details = rows.filter(([, v]) => v !== undefined).map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`).join('')
    sendHtml(res, 200, motionPage('Motion', `<p>Signed in as <strong>${escapeHtml(identity.name ?? account.label)}</strong>.</p>
<dl>${details}</dl>
<p><a class="button" href="/logout">Sign out</a></p>`))
  }

  /** The handoff (HANDOFF.md): the gateway says who signed in; Motion finds the user and opens its own session. */
  async function loginFromGateway (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseJson(await readBody(req, 64 * 1024))
    if (!await verified('/api/login/saml', gatewayIdentity, req, res)) return
    const identity = identityOf(req)
    motion.logins.push(identity)
    // Multi-login: the accounts sharing the multi_user_key (XC_SAML_MULTI_USER_FIELD) or the email.
    const key = (identity.multi_user_key ?? identity.email)?.toLowerCase()
    const mine = accounts.filter((a) => a.email === key)
    if (mine.length === 0) return answer.refuse(res, `Motion has no user with the email ${identity.email ?? identity.sub}.`, 404)
    const profile = profileOf(body, identity)
    if (mine.length > 1 && profile === undefined) {
      return answer.chooseProfile(res, mine.map((a) => ({ id: a.id, label: a.label, role: a.role })))
    }
    const account = profile === undefined ? mine[0] : mine.find((a) => a.id === profile)
    if (account === undefined) return answer.refuse(res, 'That profile does not belong to you.')

    const sid = randomBytes(24).toString('base64url')
    motion.sessions.set(sid, { account, identity })
    answer.signIn(res, { location: returnToOf(body), cookies: `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax` })
  }

  /** The gateway's logout notice: end every Motion session opened from that gateway session. */
  async function logoutFromGateway (req: IncomingMessage, res: ServerResponse): Promise<void> {
    await readBody(req, 64 * 1024)
    if (!await verified('/api/logout/saml', logoutNotice, req, res)) return
    const { sid } = identityOf(req)
    for (const [id, session] of motion.sessions) if (session.identity.sid === sid) motion.sessions.delete(id)
    res.writeHead(204).end()
  }

  motion.url = await listen(server, opts.port ?? 0, host, 'stand-in Motion (DEMO_MOTION_PORT)')
  motion.close = () => closeServer(server)
  return motion
}

/** nginx's `proxy_pass`: same method, path, query and body bytes; every header but hop-by-hop ones. */
function proxyToGateway (req: IncomingMessage, res: ServerResponse, gatewayUrl: string): Promise<void> {
  const target = new URL(req.url ?? '/', gatewayUrl)
  const headers: Record<string, string | string[]> = {}
  for (const [name, v] of Object.entries(req.headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(name)) headers[name] = v
  }
  const forwardedFor = req.headers['x-forwarded-for']
  headers['x-forwarded-for'] = [forwardedFor, req.socket.remoteAddress].flat().filter(Boolean).join(', ')
  headers['x-forwarded-proto'] = 'http'
  headers['x-forwarded-host'] = req.headers.host ?? ''
  headers['x-real-ip'] = req.socket.remoteAddress ?? ''
  return new Promise((resolve) => {
    const upstream = httpRequest(target, { method: req.method, headers }, (answer) => {
      const raw: string[] = []
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has(answer.rawHeaders[i].toLowerCase())) raw.push(answer.rawHeaders[i], answer.rawHeaders[i + 1])
      }
      res.writeHead(answer.statusCode ?? 502, raw)
      answer.pipe(res)
      answer.on('end', resolve)
      answer.on('error', () => { res.destroy(); resolve() })
    })
    upstream.on('error', (err) => {
      if (!res.headersSent) {
        sendHtml(res, 502, motionPage('Bad gateway', `<p>The SAML gateway at ${escapeHtml(gatewayUrl)} did not answer: ${escapeHtml(err.message)}</p>`))
      } else {
        res.destroy()
      }
      resolve()
    })
    req.pipe(upstream)
  })
}

function cookieOf (req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=')
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim()
  }
  return undefined
}

function parseJson (body: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body.toString('utf8'))
    return parsed !== null && typeof parsed === 'object' ? parsed : {}
  } catch {
    return {}
  }
}

const motionPage = (title: string, body: string): string => page({ title, body, accent: '#0b7a4b', banner: 'Stand-in Motion — demo' })
