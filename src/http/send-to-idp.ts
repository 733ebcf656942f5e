// A message for the IdP leaves through the browser: a 302 for the HTTP-Redirect binding, an
// auto-submitting form page for HTTP-POST (with its own CSP: our script, a form to the IdP only).
import type { FastifyReply } from 'fastify'
import type { OutgoingMessage } from '../sp/write/entities.js'
import { autoPostCsp, renderAutoPost } from './pages.js'
import { PATHS } from '../routes.js'

export function sendToIdp (reply: FastifyReply, message: OutgoingMessage, basePath: string): FastifyReply {
  if (message.binding === 'redirect') return reply.redirect(message.url, 302)
  return reply
    .code(200)
    .header('content-security-policy', autoPostCsp(message.url))
    .type('text/html; charset=utf-8')
    .send(renderAutoPost(message, { stylesheetHref: `${basePath}${PATHS.stylesheet}`, scriptHref: `${basePath}${PATHS.autoPostScript}` }))
}
