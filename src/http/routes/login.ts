// Login: GET / and /login start it (or hand off at once from a live session), POST /callback is
// the ACS, POST /profile takes the multi-login choice. Each handler reads its input, calls the
// login flow (src/sp), keeps the session, and hands off to the upstream; every check is in src/sp.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { errors } from '../../errors.js'
import type { SessionUser } from '../../session/store.js'
import { PATHS } from '../../routes.js'
import type { LoginFlow } from '../../sp/login-flow.js'
import { safeReturnTo } from '../../sp/return-to.js'
import type { Upstream } from '../../upstream/upstream.js'
import { handoffAnswerer } from '../handoff.js'
import { sendToIdp } from '../send-to-idp.js'
import { checkOptions } from '../options.js'
import { browserBinding, liveUser, readBrowserBinding } from '../plugins/session.js'
import type { UnsolicitedLogins } from '../unsolicited-login.js'

export interface LoginRoutesOptions {
  login: LoginFlow
  upstream: Upstream
  /** Unsolicited responses that must be confirmed, and the person marker (unsolicited-login.ts). */
  unsolicited: UnsolicitedLogins
  publicOrigin: string
  basePath: string
  /** Cookies Secure (https public origin). */
  secure: boolean
  now: () => number
}

interface LoginQuery { returnTo?: string, forceAuthn?: string }
interface AcsBody { SAMLResponse?: unknown, RelayState?: unknown, continue?: unknown }
interface ProfileBody { profile?: unknown, csrf?: unknown }

export default async function loginRoutes (app: FastifyInstance, options: LoginRoutesOptions): Promise<void> {
  const { login, unsolicited, publicOrigin, basePath, secure, now } = checkOptions('login routes', options, ['login', 'upstream', 'unsolicited', 'publicOrigin', 'basePath', 'secure', 'now'])
  const answerWithHandoff = handoffAnswerer({ upstream: options.upstream, basePath })
  /** A new session id at every login (an id planted before login is never the one after), then the handoff. */
  const signIn = async (request: FastifyRequest, reply: FastifyReply, user: SessionUser, returnTo: string | undefined, audit: object) => {
    await request.session.regenerate()
    request.session.user = user
    unsolicited.markPerson(reply, user)
    request.log.info({ audit: 'login', outcome: 'accepted', ...audit }, 'login accepted')
    return answerWithHandoff(request, reply, user, { returnTo })
  }

  const startLogin = async (request: FastifyRequest<{ Querystring: LoginQuery }>, reply: FastifyReply) => {
    const forceAuthn = request.query.forceAuthn === '1' || request.query.forceAuthn === 'true'
    const user = liveUser(request, now())
    if (user !== undefined && !forceAuthn) {
      request.log.info({ outcome: 'session_hit' }, 'login from existing session')
      return answerWithHandoff(request, reply, user, { returnTo: safeReturnTo(request.query.returnTo, publicOrigin) })
    }
    const binding = browserBinding(request, reply, { basePath, secure })
    const { requestId, message } = await login.begin({ browserBinding: binding, returnTo: request.query.returnTo, forceAuthn })
    request.log.info({ authnRequestId: requestId, forceAuthn, binding: message.binding }, 'AuthnRequest sent')
    return sendToIdp(reply, message, basePath)
  }
  app.get(PATHS.start, startLogin)
  app.get(PATHS.login, startLogin)

  registerInfoPages(app, basePath)

  app.post<{ Body: AcsBody }>(PATHS.callback, async (request, reply) => {
    const body = (request.body ?? {}) as AcsBody
    if (typeof body.continue === 'string' && body.SAMLResponse === undefined) {
      // The confirmation of an unsolicited login (unsolicited-login.ts).
      const held = await unsolicited.takeConfirmed(request, reply, body.continue)
      return await signIn(request, reply, held.user, held.returnTo, { nameId: held.user.nameId, idpInitiated: true, confirmed: true })
    }
    const result = await login.complete({
      samlResponse: body.SAMLResponse,
      relayState: body.RelayState,
      browserBinding: readBrowserBinding(request, secure)
    })
    const why = result.idpInitiated ? unsolicited.needsConfirmation(request, result) : undefined
    if (why !== undefined) return await unsolicited.askToConfirm(request, reply, result, why)
    const { issuer, responseId, assertionId, inResponseTo, sessionIndex } = result.assertion
    return await signIn(request, reply, result.user, result.returnTo,
      { issuer, responseId, assertionId, inResponseTo, sessionIndex, nameId: result.user.nameId, idpInitiated: result.idpInitiated })
  })

  app.post<{ Body: ProfileBody }>(PATHS.profile, async (request, reply) => {
    const user = liveUser(request, now())
    if (user === undefined) throw new errors.SessionRequired()
    const profile = chosenProfile(request)
    const returnTo = request.session.returnTo
    request.session.csrf = undefined
    request.session.profiles = undefined
    request.session.user = { ...user, profile }
    return answerWithHandoff(request, reply, request.session.user, { returnTo })
  })
}

/** The pages a person may open directly: the Reply URL (it only takes the IdP's form post) and the signed-out landing. */
function registerInfoPages (app: FastifyInstance, basePath: string): void {
  const signIn = { href: `${basePath}${PATHS.start}?returnTo=%2F`, label: 'Sign in' }
  // A person (or a bookmark) opening the Reply URL: it only takes the IdP's form post.
  app.get(PATHS.callback, async (_request, reply) => {
    reply.header('allow', 'POST')
    return reply.sendPage(405, {
      title: 'This is the sign-in return address',
      message: 'Your identity provider (Microsoft Entra ID) sends your browser here, with a form, at the end of a sign-in. Opened directly, there is nothing to show.',
      hint: 'To sign in, start from the application, or use the button below.',
      action: signIn
    })
  })

  // Where a sign-out lands (GATEWAY_POST_LOGOUT_URL by default).
  app.get(PATHS.signedOut, async (_request, reply) => {
    return reply.sendPage(200, {
      title: 'Signed out',
      message: 'You are signed out of the application.',
      hint: 'On a shared computer, close the browser as well.',
      action: { ...signIn, label: 'Sign in again' }
    })
  })
}

/** The profile posted by the chooser: one it offered, with the form's token. */
function chosenProfile (request: FastifyRequest<{ Body: ProfileBody }>): string {
  const body = (request.body ?? {}) as ProfileBody
  const expected = request.session.csrf
  if (typeof body.csrf !== 'string' || expected === undefined || !sameText(body.csrf, expected)) throw new errors.CsrfToken()
  if (typeof body.profile !== 'string' || request.session.profiles?.includes(body.profile) !== true) throw new errors.CsrfToken()
  return body.profile
}

function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
