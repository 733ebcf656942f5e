// Single logout: GET|POST /logout starts it here (the local session always goes first), and
// GET|POST /logout/callback takes the IdP's LogoutResponse to ours, or its LogoutRequest.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PATHS } from '../../routes.js'
import type { LogoutFlow } from '../../sp/logout-flow.js'
import { readPostLogout, readRedirectLogout, type LogoutExpectations } from '../../sp/read/logout-message.js'
import { safeReturnTo } from '../../sp/return-to.js'
import { checkOptions } from '../options.js'
import { SESSION_COOKIE } from '../plugins/session.js'
import { sendToIdp } from '../send-to-idp.js'

export interface LogoutRoutesOptions {
  logout: LogoutFlow
  expectations: LogoutExpectations
  publicOrigin: string
  /** GATEWAY_POST_LOGOUT_URL: where a person lands when nothing better is known. */
  postLogoutUrl: string
  /** GATEWAY_BASE_PATH: the auto-post page links our stylesheet and script under it. */
  basePath: string
  /** Cookies Secure (https public origin). */
  secure: boolean
  now: () => number
}

export default async function logoutRoutes (app: FastifyInstance, options: LogoutRoutesOptions): Promise<void> {
  const { logout, expectations, publicOrigin, postLogoutUrl, basePath, secure, now } =
    checkOptions('logout routes', options, ['logout', 'expectations', 'publicOrigin', 'postLogoutUrl', 'basePath', 'secure', 'now'])

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
    const toIdp = await logout.begin(user, landing)
    app.metrics.logouts.inc({ kind: 'sp', outcome: 'ok' })
    request.log.info({ audit: 'logout', outcome: 'local_session_ended', nameId: user?.nameId, sessionIndex: user?.sessionIndex, toIdp: toIdp !== undefined, binding: toIdp?.binding }, 'local session ended')
    return toIdp === undefined ? reply.redirect(landing, 302) : sendToIdp(reply, toIdp, basePath)
  }
  app.get(PATHS.logout, spLogout)
  app.post(PATHS.logout, spLogout)

  const sloEndpoint = async (request: FastifyRequest, reply: FastifyReply) => {
    const message = request.method === 'GET'
      ? readRedirectLogout(rawQuery(request.raw.url ?? ''), expectations, now())
      : readPostLogout((request.body ?? {}) as Record<string, unknown>, expectations, now())

    if (message.kind === 'response') {
      const { success, status } = await logout.complete(message)
      app.metrics.logouts.inc({ kind: 'idp_response', outcome: success ? 'ok' : 'failed' })
      const logLine = { audit: 'logout', outcome: 'logout_response', logoutResponseId: message.id, inResponseTo: message.inResponseTo, success, status }
      if (success) {
        request.log.info(logLine, 'IdP answered our LogoutRequest')
        return reply.redirect(landingOf(message.relayState), 302)
      }
      // The local session is gone, but the IdP's may live on: say so, to the log and to the person.
      request.log.warn({ ...logLine, code: 'SAML_LOGOUT_NOT_CONFIRMED' }, 'the IdP did not confirm the logout: its session may still be active')
      return reply.sendPage(200, {
        title: 'Signed out here',
        message: 'You are signed out of this application, but the identity provider did not confirm that it signed you out too.',
        hint: 'To be sure, close every browser window. On a shared computer, sign out at the identity provider as well.',
        code: 'SAML_LOGOUT_NOT_CONFIRMED',
        action: { href: landingOf(message.relayState), label: 'Continue' }
      })
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
    if (result.response !== undefined) return sendToIdp(reply, result.response, basePath)
    return reply.sendPage(200, { title: 'Signed out', message: 'You have been signed out.', action: { href: postLogoutUrl, label: 'Continue' } })
  }
  app.get(PATHS.logoutCallback, sloEndpoint)
  app.post(PATHS.logoutCallback, sloEndpoint)
}

function rawQuery (url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? '' : url.slice(index + 1)
}
