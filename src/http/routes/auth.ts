// What nginx and the browser ask about the current session: GET /auth (nginx auth_request: 204
// with a fresh identity header bound to the request nginx is deciding about, or 401; 403 to
// anything but nginx's internal subrequest) and
// GET /session (the session as JSON, no secrets).
import type { FastifyInstance } from 'fastify'
import { errors } from '../../errors.js'
import { IDENTITY_HEADER } from '../../identity/claims.js'
import { PATHS } from '../../routes.js'
import type { Upstream } from '../../upstream/upstream.js'
import { checkOptions } from '../options.js'
import { liveUser } from '../plugins/session.js'

export interface AuthRoutesOptions {
  upstream: Upstream
  publicOrigin: string
  now: () => number
}

export default async function authRoutes (app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { upstream, publicOrigin, now } = checkOptions('auth routes', options, ['upstream', 'publicOrigin', 'now'])

  // Only nginx's internal subrequest sets all three headers (its public server block clears them);
  // a browser that reaches /auth by any path must not get a token for a request of its choosing.
  app.get(PATHS.auth, async (request, reply) => {
    const method = headerValue(request.headers['x-original-method'])
    const uri = headerValue(request.headers['x-original-uri'])
    if (method === undefined || uri === undefined || headerValue(request.headers['x-gateway-auth-request']) !== '1') {
      throw new errors.AuthSubrequestOnly()
    }
    reply.header('cache-control', 'no-store')
    const user = liveUser(request, now())
    if (user === undefined) return reply.code(401).send()
    let target: URL
    try {
      target = new URL(uri, publicOrigin)
    } catch {
      throw new errors.BadRequest('X-Original-URI is not a URI')
    }
    if (target.origin !== publicOrigin) throw new errors.BadRequest('X-Original-URI is not on DOMAIN')
    const token = await upstream.identityHeader({ sessionId: request.session.sessionId, user }, { method, url: target.href })
    return reply.code(204).header(IDENTITY_HEADER, token).send()
  })

  app.get(PATHS.session, async (request) => {
    const user = liveUser(request, now())
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
}

function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value
}
