// Single logout: GET|POST /logout starts it here (the local session always goes first), and
// GET|POST /logout/callback takes the IdP's LogoutResponse to ours, or its LogoutRequest.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PATHS } from '../../routes.js'
import type { LogoutFlow } from '../../sp/logout-flow.js'
import { readPostLogout, readRedirectLogout, type LogoutExpectations } from '../../sp/read/logout-message.js'
import { safeReturnTo } from '../../sp/return-to.js'
import { checkOptions } from '../options.js'
import { SESSION_COOKIE } from '../plugins/session.js'

export interface LogoutRoutesOptions {
  logout: LogoutFlow
  expectations: LogoutExpectations
  publicOrigin: string
  /** GATEWAY_POST_LOGOUT_URL: where a person lands when nothing better is known. */
  postLogoutUrl: string
  /** Cookies Secure (https public origin). */
  secure: boolean
  now: () => number
}

export default async function logoutRoutes (app: FastifyInstance, options: LogoutRoutesOptions): Promise<void> {
  const { logout, expectations, publicOrigin, postLogoutUrl, secure, now } =
    checkOptions('logout routes', options, ['logout', 'expectations', 'publicOrigin', 'postLogoutUrl', 'secure', 'now'])

  const endLocalSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const user = request.session.user
    await request.session.destroy()
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure, sameSite: 'lax' })
    return user
  }
  const landingOf = (returnTo?: unknown) => safeReturnTo(returnTo, publicOrigin) ?? postLogoutUrl

  const spLogout = async (request: FastifyRequest<{ Querystring: { returnTo?: string } }>, reply: FastifyReply) => {
    const user = await endLocalSession(request, reply)
    const landing = landingOf(request.query.returnTo)
    const idpUrl = await logout.begin(user, landing)
    app.metrics.logouts.inc({ kind: 'sp', outcome: 'ok' })
    request.log.info({ audit: 'logout', outcome: 'local_session_ended', nameId: user?.nameId, sessionIndex: user?.sessionIndex, toIdp: idpUrl !== undefined }, 'local session ended')
    return reply.redirect(idpUrl ?? landing, 302)
  }
  app.get(PATHS.logout, spLogout)
  app.post(PATHS.logout, spLogout)

  const sloEndpoint = async (request: FastifyRequest, reply: FastifyReply) => {
    const message = request.method === 'GET'
      ? readRedirectLogout(rawQuery(request.raw.url ?? ''), expectations, now())
      : readPostLogout((request.body ?? {}) as Record<string, unknown>, expectations, now())

    if (message.kind === 'response') {
      const { success } = await logout.complete(message)
      app.metrics.logouts.inc({ kind: 'idp_response', outcome: success ? 'ok' : 'failed' })
      request.log.info({ audit: 'logout', outcome: 'logout_response', logoutResponseId: message.id, inResponseTo: message.inResponseTo, success }, 'IdP answered our LogoutRequest')
      return reply.redirect(landingOf(message.relayState), 302)
    }

    const result = await logout.endIdpSessions(message)
    if (request.session.user?.nameId === message.nameId) await endLocalSession(request, reply)
    app.metrics.logouts.inc({ kind: 'idp_request', outcome: result.upstreamNotified ? 'ok' : 'partial' })
    request.log.info({
      audit: 'logout',
      outcome: 'idp_logout',
      logoutRequestId: message.id,
      nameId: message.nameId,
      sessionIndexes: message.sessionIndexes,
      ended: result.ended,
      upstreamNotified: result.upstreamNotified
    }, 'IdP ended sessions')
    if (result.redirectUrl !== undefined) return reply.redirect(result.redirectUrl, 302)
    return reply.sendPage(200, { title: 'Signed out', message: 'You have been signed out.', action: { href: postLogoutUrl, label: 'Continue' } })
  }
  app.get(PATHS.logoutCallback, sloEndpoint)
  app.post(PATHS.logoutCallback, sloEndpoint)
}

function rawQuery (url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? '' : url.slice(index + 1)
}
