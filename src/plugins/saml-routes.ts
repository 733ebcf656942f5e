// The gateway's HTTP surface (DESIGN §3). Each handler reads its input, calls src/sp or the
// store, and answers; the SAML work and every check live in src/sp.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { errors } from '../errors.js'
import { STYLESHEET } from '../pages.js'
import { spMetadata } from '../sp/entities.js'
import { safeReturnTo } from '../sp/return-to.js'
import { answerWithHandoff, mintFor } from './handoff.js'
import { IDENTITY_HEADER } from '../identity/mint.js'
import { browserBinding, readBrowserBinding } from './session.js'
import type { SessionUser } from '../session/store.js'

interface LoginQuery { returnTo?: string, forceAuthn?: string }
interface AcsBody { SAMLResponse?: unknown, RelayState?: unknown }
interface ProfileBody { profile?: unknown, csrf?: unknown }

export default async function samlRoutes (app: FastifyInstance): Promise<void> {
  const { config, login, store, identityKeys, entities, now } = app.gateway
  const cookieOpts = { basePath: config.basePath, secure: app.gateway.secureCookies }

  const liveUser = (request: FastifyRequest): SessionUser | undefined => {
    const user = request.session.user
    if (user === undefined) return undefined
    if (user.idpSessionEnd !== undefined && user.idpSessionEnd <= now()) return undefined
    return user
  }

  const startLogin = async (request: FastifyRequest<{ Querystring: LoginQuery }>, reply: FastifyReply) => {
    const forceAuthn = request.query.forceAuthn === '1' || request.query.forceAuthn === 'true'
    const user = liveUser(request)
    if (user !== undefined && !forceAuthn) {
      request.log.info({ outcome: 'session_hit' }, 'login from existing session')
      return answerWithHandoff(request, reply, user, { returnTo: safeReturnTo(request.query.returnTo, config.publicOrigin) })
    }
    const binding = browserBinding(request, reply, cookieOpts)
    const { requestId, redirectUrl } = await login.begin({ browserBinding: binding, returnTo: request.query.returnTo, forceAuthn })
    request.log.info({ authnRequestId: requestId, forceAuthn }, 'AuthnRequest sent')
    return reply.redirect(redirectUrl, 302)
  }

  app.get('/', startLogin)
  app.get('/login', startLogin)

  app.post<{ Body: AcsBody }>('/callback', async (request, reply) => {
    const body = (request.body ?? {}) as AcsBody
    const result = await login.complete({
      samlResponse: body.SAMLResponse,
      relayState: body.RelayState,
      browserBinding: readBrowserBinding(request)
    })
    // A new session id at every login: an id planted before login is never the one after.
    await request.session.regenerate()
    request.session.user = result.user
    request.log.info({
      audit: 'login',
      outcome: 'accepted',
      issuer: result.assertion.issuer,
      responseId: result.assertion.responseId,
      assertionId: result.assertion.assertionId,
      inResponseTo: result.assertion.inResponseTo,
      sessionIndex: result.assertion.sessionIndex,
      nameId: result.user.nameId,
      idpInitiated: result.idpInitiated
    }, 'login accepted')
    return answerWithHandoff(request, reply, result.user, { returnTo: result.returnTo })
  })

  // A person (or a bookmark) opening the Reply URL: it only takes the IdP's form post.
  app.get('/callback', async (_request, reply) => {
    reply.header('allow', 'POST')
    return reply.sendPage(405, {
      title: 'This is the sign-in return address',
      message: 'Your identity provider (Microsoft Entra ID) sends your browser here, with a form, at the end of a sign-in. Opened directly, there is nothing to show.',
      hint: 'To sign in, start from the application, or use the button below.',
      action: { href: `${config.basePath}/?returnTo=%2F`, label: 'Sign in' }
    })
  })

  // Where a sign-out lands (GATEWAY_POST_LOGOUT_URL by default).
  app.get('/signed-out', async (_request, reply) => {
    return reply.sendPage(200, {
      title: 'Signed out',
      message: 'You are signed out of the application.',
      hint: 'On a shared computer, close the browser as well.',
      action: { href: `${config.basePath}/?returnTo=%2F`, label: 'Sign in again' }
    })
  })

  app.post<{ Body: ProfileBody }>('/profile', async (request, reply) => {
    const user = liveUser(request)
    if (user === undefined) throw new errors.SessionRequired()
    const body = (request.body ?? {}) as ProfileBody
    const expected = request.session.csrf
    if (typeof body.csrf !== 'string' || expected === undefined || !sameText(body.csrf, expected)) throw new errors.CsrfToken()
    if (typeof body.profile !== 'string' || request.session.profiles?.includes(body.profile) !== true) throw new errors.CsrfToken()
    const returnTo = request.session.returnTo
    request.session.csrf = undefined
    request.session.profiles = undefined
    request.session.user = { ...user, profile: body.profile }
    return answerWithHandoff(request, reply, request.session.user, { returnTo })
  })

  // nginx auth_request: a fresh identity bound to the request nginx is deciding about, or 401.
  app.get('/auth', async (request, reply) => {
    const user = liveUser(request)
    if (user === undefined) return reply.code(401).send()
    const method = headerValue(request.headers['x-original-method']) ?? 'GET'
    const uri = headerValue(request.headers['x-original-uri']) ?? '/'
    let target: URL
    try {
      target = new URL(uri, config.publicOrigin)
    } catch {
      throw new errors.BadRequest('X-Original-URI is not a URI')
    }
    if (target.origin !== config.publicOrigin) throw new errors.BadRequest('X-Original-URI is not on DOMAIN')
    const token = await mintFor(request, user, { method, url: target.href })
    return reply.code(204).header(IDENTITY_HEADER, token).send()
  })

  app.get('/session', async (request) => {
    const user = liveUser(request)
    if (user === undefined) throw new errors.SessionRequired()
    return {
      nameId: user.nameId,
      issuer: user.issuer,
      sessionIndex: user.sessionIndex,
      authTime: new Date(user.authTime).toISOString(),
      idpSessionEnd: user.idpSessionEnd !== undefined ? new Date(user.idpSessionEnd).toISOString() : undefined,
      claims: user.claims
    }
  })

  app.get('/metadata', async (_request, reply) => {
    return reply.type('application/samlmetadata+xml; charset=utf-8').send(spMetadata(entities))
  })

  app.get('/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return identityKeys.jwks
  })

  // Live: the process answers (restart it if not). Ready: it can serve logins (route traffic to it).
  const readiness = async (_request: FastifyRequest, reply: FastifyReply) => {
    try {
      await store.ping()
      return { status: 'ok', live: true, ready: true, store: 'ok' }
    } catch {
      return reply.code(503).send({ status: 'unavailable', live: true, ready: false, store: 'unavailable' })
    }
  }
  app.get('/health', readiness)
  app.get('/health/ready', readiness)
  app.get('/health/live', async () => ({ status: 'ok', live: true }))

  app.get('/style.css', async (_request, reply) => {
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET)
  })
}

function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value
}

function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
