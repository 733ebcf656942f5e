// Abuse limits on the routes anyone can make the gateway work hard for: login (an AuthnRequest
// remembered in the store), the ACS (a signature check) and the SLO endpoint. Per client address
// as Fastify sees it (request.ip: the address nginx reports when GATEWAY_TRUST_PROXY trusts it),
// each route counted on its own, with @fastify/rate-limit's in-process store: with several gateway
// instances behind nginx each counts its own share. Over the limit: 429 RATE_LIMITED, through the
// error handler like every other refusal, with Retry-After.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { RouteOptions } from 'fastify'
import { errors } from '../../errors.js'
import { LIMITED_PATHS } from '../../routes.js'

export interface RateLimitOptions {
  basePath: string
  /** Requests per window per client address; the plugin does nothing without it. */
  limit?: { max: number, windowMs: number }
}

export default fp<RateLimitOptions>(async function rateLimitPlugin (app, opts) {
  const limit = opts.limit
  if (limit === undefined) return
  const limited = new Set(LIMITED_PATHS.map((path) => normalise(`${opts.basePath}${path}`)))

  // Must run before @fastify/rate-limit's own onRoute hook, which reads config.rateLimit.
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!limited.has(normalise(route.url ?? ''))) return
    route.config = { ...route.config, rateLimit: { max: limit.max, timeWindow: limit.windowMs } }
  })
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) => new errors.RateLimited(context.after)
  })
}, { name: 'saml-gateway-rate-limit', fastify: '5.x', dependencies: ['saml-gateway-errors'] })

function normalise (url: string): string {
  return url.length > 1 ? url.replace(/\/+$/, '') : url
}
