// Single logout routes (DESIGN §2): /logout starts it here, /logout/callback takes the IdP's
// messages. The local session always goes first.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { safeReturnTo } from '../sp/return-to.js'
import { SESSION_COOKIE } from './session.js'

export default async function logoutRoutes (app: FastifyInstance): Promise<void> {
  const { config, logout, readLogout, now } = app.gateway

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
    const idpUrl = await logout.begin(user, landing)
    app.metrics.logouts.inc({ kind: 'sp', outcome: 'ok' })
    request.log.info({ audit: 'logout', outcome: 'local_session_ended', nameId: user?.nameId, sessionIndex: user?.sessionIndex, toIdp: idpUrl !== undefined }, 'local session ended')
    return reply.redirect(idpUrl ?? landing, 302)
  }
  app.get('/logout', spLogout)
  app.post('/logout', spLogout)

  const sloEndpoint = async (request: FastifyRequest, reply: FastifyReply) => {
    const message = await readLogout(request.method === 'GET'
      ? { binding: 'redirect', rawQuery: rawQuery(request.raw.url ?? '') }
      : { binding: 'post', body: { ...(request.body ?? {}) as Record<string, unknown> } }, now())

    if (message.kind === 'response') {
      const { success } = await logout.complete(message)
      app.metrics.logouts.inc({ kind: 'idp_response', outcome: success ? 'ok' : 'failed' })
      request.log.info({ audit: 'logout', outcome: 'logout_response', logoutResponseId: message.id, inResponseTo: message.inResponseTo, success }, 'IdP answered our LogoutRequest')
      return reply.redirect(postLogoutUrl(message.relayState), 302)
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
    return reply.sendPage(200, { title: 'Signed out', message: 'You have been signed out.', action: { href: config.postLogoutUrl, label: 'Continue' } })
  }
  app.get('/logout/callback', sloEndpoint)
  app.post('/logout/callback', sloEndpoint)
}

function rawQuery (url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? '' : url.slice(index + 1)
}
