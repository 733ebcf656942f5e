// Nothing the gateway answers may be cached, framed, sniffed, or leak its URL (SAML query strings)
// onward in a Referer.
import fp from 'fastify-plugin'
import { PAGE_CSP } from '../pages.js'

export default fp(async function securityHeaders (app) {
  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('x-frame-options', 'DENY')
    // A page with its own policy (the HTTP-POST binding's form to the IdP) keeps it.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP)
  })
}, { name: 'saml-gateway-security-headers', fastify: '5.x' })
