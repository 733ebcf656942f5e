// /metrics in Prometheus text format (prom-client): logins by outcome and rejection code, ACS
// latency, active sessions, store errors, days until the IdP certificate expires. Loopback clients
// only unless GATEWAY_METRICS=public. One registry per app, so tests can build many.
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FastifyRequest } from 'fastify'
import { PATHS } from '../../routes.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics
  }
}

export interface GatewayMetrics {
  registry: Registry
  logins: Counter<'outcome' | 'code'>
  logouts: Counter<'kind' | 'outcome'>
  storeErrors: Counter
  acsSeconds: Histogram<'outcome'>
}

const DAY_MS = 86_400_000
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/

export interface MetricsOptions {
  basePath: string
  exposure: 'loopback' | 'public' | 'off'
  /** Earliest expiry of the IdP signing certificates (epoch ms), read at each scrape. */
  certificateExpiry: () => number | undefined
  countSessions: () => Promise<number>
  now: () => number
}

export default fp<MetricsOptions>(async function metricsPlugin (app, opts) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'saml_gateway_' })
  const metrics: GatewayMetrics = {
    registry,
    logins: new Counter({ name: 'saml_gateway_logins_total', help: 'Logins at the ACS by outcome (accepted, rejected) and rejection code', labelNames: ['outcome', 'code'], registers: [registry] }),
    logouts: new Counter({ name: 'saml_gateway_logouts_total', help: 'Logouts by kind (sp, idp_request, idp_response) and outcome', labelNames: ['kind', 'outcome'], registers: [registry] }),
    storeErrors: new Counter({ name: 'saml_gateway_store_errors_total', help: 'Session store operations that failed', registers: [registry] }),
    acsSeconds: new Histogram({ name: 'saml_gateway_acs_duration_seconds', help: 'Time to answer an ACS POST, handoff included', labelNames: ['outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] })
  }
  registry.registerMetric(new Gauge({
    name: 'saml_gateway_active_sessions',
    help: 'Live gateway sessions in the store',
    registers: [],
    async collect () {
      try { this.set(await opts.countSessions()) } catch { /* store down: the store-errors counter says so */ }
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'saml_gateway_idp_certificate_days_to_expiry',
    help: 'Days until the earliest IdP signing certificate expires (negative: expired)',
    registers: [],
    collect () {
      const expiry = opts.certificateExpiry()
      if (expiry !== undefined) this.set(Math.floor((expiry - opts.now()) / DAY_MS))
    }
  }))
  app.decorate('metrics', metrics)

  const acs = `${opts.basePath}${PATHS.callback}`
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== acs || request.method !== 'POST') return
    // accepted: signed in and handed off; rejected: the SAML message was refused; failed: anything
    // else kept the person out (upstream down or refusing, store down, rate limit).
    const code = reply.errorCode ?? (reply.statusCode >= 400 ? `HTTP_${reply.statusCode}` : '')
    const outcome = code === '' ? 'accepted' : code.startsWith('SAML_') ? 'rejected' : 'failed'
    metrics.logins.inc({ outcome, code })
    metrics.acsSeconds.observe({ outcome }, reply.elapsedTime / 1000)
  })

  if (opts.exposure === 'off') return
  app.get(`${opts.basePath}${PATHS.metrics}`, async (request: FastifyRequest, reply) => {
    // Behind nginx every request comes from loopback: one that was forwarded is not local.
    const forwarded = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined
    if (opts.exposure === 'loopback' && (forwarded || !LOOPBACK.test(request.socket.remoteAddress ?? ''))) {
      return reply.sendPage(403, { title: 'Forbidden', message: 'Metrics are served to this host only.', code: 'METRICS_FORBIDDEN' })
    }
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'saml-gateway-metrics', fastify: '5.x', dependencies: ['saml-gateway-errors'] })
