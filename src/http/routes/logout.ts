// Single logout: GET|POST /logout starts it here (the local session always goes first), and
// GET|POST /logout/callback takes the IdP's LogoutResponse to ours, or its LogoutRequest.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { PATHS } from '../../routes.js'
import type { LogoutFlow } from '../../sp/logout-flow.js'
import type { InboundLogout, LogoutInput } from '../../sp/read/logout-message.js'
import { isSamlMessageField, type SamlMessageField } from '../../sp/read/form-value.js'
import { safeReturnTo } from '../../sp/return-to.js'
import { checkOptions } from '../options.js'
import { sessionCookieName } from '../plugins/session.js'
import { escapeHtml } from '../pages.js'
import { fromAnotherSite } from '../same-origin.js'
import { forgetPerson } from '../unsolicited-login.js'
import { sendToIdp } from '../send-to-idp.js'

export interface LogoutRoutesOptions {
  logout: LogoutFlow
  /** Reads a message at the SLO endpoint (in a validator worker when there are any). */
  readLogout: (input: LogoutInput, nowMs: number) => Promise<InboundLogout>
  /** GATEWAY_BASE_PATH: forms post under it; the auto-post page links our stylesheet and script under it. */
  basePath: string
  publicOrigin: string
  /** GATEWAY_POST_LOGOUT_URL: where a person lands when nothing better is known. */
  postLogoutUrl: string
  /** Cookies Secure (https public origin). */
  secure: boolean
  now: () => number
}

export default async function logoutRoutes (app: FastifyInstance, options: LogoutRoutesOptions): Promise<void> {
  const { logout, readLogout, publicOrigin, basePath, postLogoutUrl, secure, now } =
    checkOptions('logout routes', options, ['logout', 'readLogout', 'publicOrigin', 'basePath', 'postLogoutUrl', 'secure', 'now'])

  const endLocalSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const user = request.session.user
    await request.session.destroy()
    reply.clearCookie(sessionCookieName(secure), { path: '/', httpOnly: true, secure, sameSite: 'lax' })
    forgetPerson(reply, secure)
    return user
  }
  const landingOf = (returnTo?: unknown) => safeReturnTo(returnTo, publicOrigin) ?? postLogoutUrl

  const spLogout = async (request: FastifyRequest<{ Querystring: { returnTo?: string }, Body?: LogoutBody }>, reply: FastifyReply) => {
    const body = (request.body ?? {}) as LogoutBody
    const returnTo = request.query.returnTo ?? (typeof body.returnTo === 'string' ? body.returnTo : undefined)
    // Logout CSRF: a cross-site link or form must not sign the person out (of the IdP too) unasked.
    if (request.session.user !== undefined && fromAnotherSite(request, publicOrigin) && !validLogoutToken(request, body.csrf)) {
      return confirmLogout(request, reply, { returnTo, basePath, postLogoutUrl })
    }
    const user = await endLocalSession(request, reply)
    const landing = landingOf(returnTo)
    const toIdp = await logout.begin(user, landing)
    app.metrics.logouts.inc({ kind: 'sp', outcome: 'ok' })
    request.log.info({ audit: 'logout', outcome: 'local_session_ended', nameId: user?.nameId, sessionIndex: user?.sessionIndex, toIdp: toIdp !== undefined, binding: toIdp?.binding }, 'local session ended')
    return toIdp === undefined ? reply.redirect(landing, 302) : sendToIdp(reply, toIdp, basePath)
  }
  app.get(PATHS.logout, spLogout)
  app.post(PATHS.logout, spLogout)

  const sloEndpoint = async (request: FastifyRequest, reply: FastifyReply) => {
    const message = await readLogout(request.method === 'GET'
      ? { binding: 'redirect', rawQuery: rawQuery(request.raw.url ?? '') }
      : { binding: 'post', body: messageFields(request.body) }, now())

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
      return notConfirmed(reply, landingOf(message.relayState))
    }

    const result = await logout.endIdpSessions(message)
    if (request.session.user?.nameId === message.nameId) await endLocalSession(request, reply)
    app.metrics.logouts.inc({ kind: 'idp_request', outcome: result.upstreamNotified ? 'ok' : 'partial' })
    const { ended, upstreamNotified } = result
    request.log.info({ audit: 'logout', outcome: 'idp_logout', logoutRequestId: message.id, nameId: message.nameId, sessionIndexes: message.sessionIndexes, ended, upstreamNotified }, 'IdP ended sessions')
    if (result.response !== undefined) return sendToIdp(reply, result.response, basePath)
    return reply.sendPage(200, { title: 'Signed out', message: 'You have been signed out.', action: { href: postLogoutUrl, label: 'Continue' } })
  }
  app.get(PATHS.logoutCallback, sloEndpoint)
  app.post(PATHS.logoutCallback, sloEndpoint)
}

/** A sign-out asked by another site: the person confirms it with a form carrying a token. */
async function confirmLogout (request: FastifyRequest, reply: FastifyReply, opts: { returnTo?: string, basePath: string, postLogoutUrl: string }): Promise<FastifyReply> {
  const { returnTo, basePath, postLogoutUrl } = opts
  request.session.logoutCsrf ??= randomBytes(24).toString('base64url')
  request.log.info({ audit: 'logout', outcome: 'confirmation_asked' }, 'cross-site logout: confirmation asked')
  return reply.sendPage(200, {
    title: 'Sign out?',
    message: 'Another site sent you here to sign out. Do you want to sign out?',
    bodyHtml: `<form method="post" action="${escapeHtml(`${basePath}${PATHS.logout}`)}">` +
      `<input type="hidden" name="csrf" value="${escapeHtml(request.session.logoutCsrf)}">` +
      (returnTo === undefined ? '' : `<input type="hidden" name="returnTo" value="${escapeHtml(returnTo)}">`) +
      '<button type="submit">Sign out</button></form>',
    action: { href: postLogoutUrl, label: 'Stay signed in' }
  })
}

/** Our session is gone, but the IdP's may live on: the person is told. */
function notConfirmed (reply: FastifyReply, landing: string): FastifyReply {
  return reply.sendPage(200, {
    title: 'Signed out here',
    message: 'You are signed out of this application, but the identity provider did not confirm that it signed you out too.',
    hint: 'To be sure, close every browser window. On a shared computer, sign out at the identity provider as well.',
    code: 'SAML_LOGOUT_NOT_CONFIRMED',
    action: { href: landing, label: 'Continue' }
  })
}

interface LogoutBody { csrf?: unknown, returnTo?: unknown }

/** The form fields a logout message is read from, single values only: all a validator worker is sent. */
function messageFields (body: unknown): Record<string, SamlMessageField> {
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const fields: Record<string, SamlMessageField> = {}
  for (const name of ['SAMLRequest', 'SAMLResponse']) {
    const value = form[name]
    if (isSamlMessageField(value)) fields[name] = value
  }
  if (typeof form.RelayState === 'string') fields.RelayState = form.RelayState
  return fields
}

function validLogoutToken (request: FastifyRequest, token: unknown): boolean {
  const expected = request.session.logoutCsrf
  if (typeof token !== 'string' || expected === undefined) return false
  const a = Buffer.from(token)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function rawQuery (url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? '' : url.slice(index + 1)
}
