// Errors end here, all of them: logged with their detail and the correlation id, answered with a
// stable code and that id (HTML for browsers, JSON otherwise). Never the XML, never a stack.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors, isSamlRejection, logSafe, publicMessage, type GatewayError, type RejectionDetail } from '../../errors.js'
import { PATHS } from '../../routes.js'
import { renderPage, type Page } from '../pages.js'
import { drainAfterAnswer } from '../drain-request.js'

declare module 'fastify' {
  interface FastifyReply {
    /** The stable code of the error this reply answers, for metrics and audit. */
    errorCode: string | null
    /** Answer with one of our pages (HTML) or its JSON twin, as the client prefers. */
    sendPage: (status: number, page: Page) => FastifyReply
  }
}

const HINTS: Record<string, string> = {
  SAML_REPLAY: 'Sign in again from the start page: a sign-in link can be used only once.',
  SAML_IN_RESPONSE_TO: 'Sign in again from the start page, in this browser (the sign-in took too long or was started elsewhere).',
  SAML_EXPIRED: 'Sign in again. If this keeps happening, the clock of this server or of the identity provider is wrong.',
  SAML_NOT_YET_VALID: 'Sign in again. If this keeps happening, the clock of this server or of the identity provider is wrong.',
  SAML_STATUS: 'The identity provider did not sign you in. Try again, or ask your administrator.',
  SAML_UNSOLICITED: 'Start the sign-in from the application’s login page.',
  STORE_UNAVAILABLE: 'The sign-in service is temporarily unavailable. Try again in a minute.',
  CSRF_TOKEN: 'Go back, reload the page and choose again.',
  SESSION_REQUIRED: 'Sign in first.'
}
const DEFAULT_HINT = 'Sign in again. If it fails again, give the reference below to your administrator.'
const LOGOUT_HINT = 'The sign-out message could not be accepted. Close the browser to be sure you are signed out, or sign in again.'

export interface ErrorHandlerOptions { basePath: string }

export default fp<ErrorHandlerOptions>(async function errorHandler (app, opts) {
  const stylesheet = `${opts.basePath}${PATHS.stylesheet}`
  // Every error page offers a way on: a fresh sign-in (straight back in while the session lives).
  const signInAgain = { href: `${opts.basePath}${PATHS.start}?returnTo=%2F`, label: 'Sign in again' }
  const isLogout = (request: FastifyRequest) => request.routeOptions.url?.startsWith(`${opts.basePath}${PATHS.logout}`) === true

  app.decorateReply('errorCode', null)
  app.decorateReply('sendPage', function sendPage (this: FastifyReply, status: number, page: Page) {
    const withId = { correlationId: this.request.id, ...page }
    this.code(status)
    if (wantsHtml(this.request)) {
      return this.type('text/html; charset=utf-8').send(renderPage(withId, stylesheet))
    }
    return this.send({ error: page.code, message: page.message, correlationId: withId.correlationId })
  })

  app.setErrorHandler(function handleError (error, request, reply) {
    if ((error as GatewayError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') drainAfterAnswer(request, reply)
    const err = normalize(error as GatewayError)
    reply.errorCode = err.code
    const status = err.statusCode ?? 500
    const log = { code: err.code, correlationId: request.id, route: request.routeOptions.url }
    if (status >= 500) request.log.error({ ...log, err: err.cause ?? err }, 'request failed')
    // With the values expected and received (err.detail: already cut short, escaped here too).
    else if (isSamlRejection(err)) request.log.warn({ ...log, audit: 'rejection', outcome: 'rejected', detail: logSafe(err.message), ...safeDetail(err.detail) }, 'SAML message rejected')
    else request.log.info({ ...log, detail: logSafe(err.message) }, 'request refused')

    const title = status === 503 ? 'Sign-in temporarily unavailable' : status >= 500 ? 'Something went wrong' : isLogout(request) ? 'Sign-out failed' : 'Sign-in failed'
    return reply.sendPage(status, {
      title,
      // The code's own wording: what the message carries (an attacker's text, often) is logged only.
      message: status === 500 ? 'An unexpected error happened.' : publicMessage(err.code) ?? 'The request was refused.',
      hint: isLogout(request) && status < 500 ? LOGOUT_HINT : HINTS[err.code] ?? DEFAULT_HINT,
      code: err.code,
      action: signInAgain
    })
  })

  app.setNotFoundHandler(function notFound (request, reply) {
    return reply.sendPage(404, { title: 'Not found', message: 'There is nothing here.', code: 'NOT_FOUND', action: signInAgain })
  })
}, { name: 'saml-gateway-errors', fastify: '5.x' })

/** Our errors pass as they are; Fastify's own 4xx (body too large, bad content type) get our codes. */
function normalize (err: GatewayError): GatewayError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new errors.SamlTooLarge()
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500
  if (typeof err.code === 'string' && !err.code.startsWith('FST_') && status >= 400) return err
  if (status >= 400 && status < 500) return Object.assign(new errors.BadRequest(err.message), { statusCode: status })
  return Object.assign(new Error('Internal error'), { code: 'INTERNAL', statusCode: 500, cause: err })
}

function safeDetail (detail: RejectionDetail | undefined): Record<string, unknown> {
  if (detail === undefined) return {}
  const safe = (v: unknown): unknown => typeof v === 'string' ? logSafe(v) : Array.isArray(v) ? v.map(safe) : v
  return Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, safe(v)]))
}

function wantsHtml (request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  return accept.includes('text/html') || (request.method === 'POST' && request.headers['content-type']?.includes('form') === true && !accept.includes('json'))
}
