// Single logout routes (DESIGN §2): /logout starts it here, /logout/callback takes the IdP's
// messages. The local session always goes first.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { readPostLogout, readRedirectLogout } from '../sp/logout-message.js'
import { safeReturnTo } from '../sp/return-to.js'
import { SESSION_COOKIE } from './session.js'
import { sendToIdp } from '../http/send-to-idp.js'

export default async function logoutRoutes (app: FastifyInstance): Promise<void> {
  const { config, logout, logoutExpectations, now } = app.gateway

  const endLocalSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const user = request.session.user
    await request.session.destroy()
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: app.gateway.secureCookies, sameSite: 'lax' })
    return user
  }
  const postLogoutUrl = (returnTo?: unknown) => safeReturnTo(returnTo, config.publicOrigin) ?? config.postLogoutUrl

  const spLogout = async (request: FastifyRequest<{ Querystring: { returnTo?: string } }>, reply: FastifyReply) => {
    const user = await endLocalSession(request, reply)
    const landing = postLogoutUrl(request.query.returnTo)
    const toIdp = await logout.begin(user, landing)
    app.metrics.logouts.inc({ kind: 'sp', outcome: 'ok' })
    request.log.info({ audit: 'logout', outcome: 'local_session_ended', nameId: user?.nameId, sessionIndex: user?.sessionIndex, toIdp: toIdp !== undefined, binding: toIdp?.binding }, 'local session ended')
    return toIdp === undefined ? reply.redirect(landing, 302) : sendToIdp(reply, toIdp, config.basePath)
  }
  app.get('/logout', spLogout)
  app.post('/logout', spLogout)

  const sloEndpoint = async (request: FastifyRequest, reply: FastifyReply) => {
    const message = request.method === 'GET'
      ? readRedirectLogout(rawQuery(request.raw.url ?? ''), logoutExpectations, now())
      : readPostLogout((request.body ?? {}) as Record<string, unknown>, logoutExpectations, now())

    if (message.kind === 'response') {
      const { success, status } = await logout.complete(message)
      app.metrics.logouts.inc({ kind: 'idp_response', outcome: success ? 'ok' : 'failed' })
      const logLine = { audit: 'logout', outcome: 'logout_response', logoutResponseId: message.id, inResponseTo: message.inResponseTo, success, status }
      if (success) {
        request.log.info(logLine, 'IdP answered our LogoutRequest')
        return reply.redirect(postLogoutUrl(message.relayState), 302)
      }
      // The local session is gone, but the IdP's may live on: say so, to the log and to the person.
      request.log.warn({ ...logLine, code: 'SAML_LOGOUT_NOT_CONFIRMED' }, 'the IdP did not confirm the logout: its session may still be active')
      return reply.sendPage(200, {
        title: 'Signed out here',
        message: 'You are signed out of this application, but the identity provider did not confirm that it signed you out too.',
        hint: 'To be sure, close every browser window. On a shared computer, sign out at the identity provider as well.',
        code: 'SAML_LOGOUT_NOT_CONFIRMED',
        action: { href: postLogoutUrl(message.relayState), label: 'Continue' }
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
    if (result.response !== undefined) return sendToIdp(reply, result.response, config.basePath)
    return reply.sendPage(200, { title: 'Signed out', message: 'You have been signed out.', action: { href: config.postLogoutUrl, label: 'Continue' } })
  }
  app.get('/logout/callback', sloEndpoint)
  app.post('/logout/callback', sloEndpoint)
}

function rawQuery (url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? '' : url.slice(index + 1)
}
