// buildApp(config): the whole gateway as a Fastify instance, without listening and without
// touching process-wide state, so tests build as many as they like. The services come from
// createGateway (gateway.ts); here each HTTP plugin is registered with what it needs.
import Fastify, { type FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Config } from './config/index.js'
import { createGateway, type Gateway, type GatewayDependencies } from './gateway.js'
import errorHandler from './http/plugins/error-handler.js'
import metricsPlugin from './http/plugins/metrics.js'
import rateLimitPlugin from './http/plugins/rate-limit.js'
import securityHeaders from './http/plugins/security-headers.js'
import sessionPlugin from './http/plugins/session.js'
import authRoutes from './http/routes/auth.js'
import discoveryRoutes from './http/routes/discovery.js'
import healthRoutes from './http/routes/health.js'
import loginRoutes from './http/routes/login.js'
import logoutRoutes from './http/routes/logout.js'
import { unsolicitedLogins } from './http/unsolicited-login.js'
import { formBodyParser } from './http/form.js'
import { releaseBody } from './http/release-body.js'
import { loggerOptions } from './logger.js'
import { spMetadata } from './sp/write/metadata.js'

export type { Config } from './config/index.js'
export { responseExpectations } from './gateway.js'

export interface AppDependencies extends Omit<GatewayDependencies, 'log' | 'onStoreError'> {
  /** false: no logs (tests); an object: pino options or a pino-compatible stream destination. */
  logger?: boolean | Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's services, for tests and tools; the HTTP plugins get theirs as options. */
    gateway: Gateway
  }
}

export async function buildApp (config: Config, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger === false ? false : loggerOptions(config.logLevel, deps.logger),
    trustProxy: config.trustProxy,
    // Correlation ids are ours: a client cannot choose the id its errors are logged under.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: bodyLimitOf(config),
    routerOptions: { ignoreTrailingSlash: true },
    // While closing, a request on a connection still open is served (and its connection closed),
    // not refused: the store is open until the last one ends (runtime/graceful-shutdown.ts).
    return503OnClosing: false
  })
  const gateway = await createGateway(config, { ...deps, log: app.log, onStoreError: () => app.metrics?.storeErrors.inc() })
  app.decorate('gateway', gateway)
  app.addHook('onClose', async () => { await gateway.close() })
  await registerHttp(app, gateway)
  return app
}

/** A SAML message at its limit, with room for the other form fields. */
function bodyLimitOf (config: Config): number {
  return config.validation.maxMessageBytes + 16 * 1024
}

async function registerHttp (app: FastifyInstance, gateway: Gateway): Promise<void> {
  const { config, store, now } = gateway
  const { basePath, publicOrigin } = config
  // Cookies may be Secure only where the public origin is https (not the plain-http local demo).
  const secure = publicOrigin.startsWith('https:')
  await app.register(errorHandler, { basePath })
  await app.register(securityHeaders)
  await app.register(metricsPlugin, {
    basePath,
    exposure: config.metrics,
    certificateExpiry: () => gateway.idpTrust.certificateExpiry,
    countSessions: () => store.countSessions(),
    now
  })
  // Form posts (the ACS, the SLO endpoint, the gateway's own forms), read as bytes: the SAML
  // message fields go to a validator worker undecoded and unjoined (src/http/form.ts).
  app.addContentTypeParser('application/x-www-form-urlencoded', formBodyParser(bodyLimitOf(config)))
  // Their bytes, and those of bodies nobody read, freed once the answer is out (src/http/release-body.ts).
  app.addHook('onSend', releaseBody)
  await app.register(sessionPlugin, { store, secret: gateway.sessionSecret, ttlMs: config.session.ttlMs, basePath, secure })
  // Before the routes: it marks the login, ACS and SLO routes as they are added.
  await app.register(rateLimitPlugin, { basePath, limit: config.rateLimit })
  const prefix = basePath
  const unsolicited = unsolicitedLogins({
    store, idpOrigin: new URL(gateway.entities.endpoints.sso.url).origin, publicOrigin, basePath, secure, sessionTtlMs: config.session.ttlMs
  })
  await app.register(loginRoutes, { prefix, login: gateway.login, upstream: gateway.upstream, unsolicited, publicOrigin, basePath, secure, now })
  await app.register(authRoutes, { prefix, upstream: gateway.upstream, publicOrigin, now })
  await app.register(discoveryRoutes, { prefix, metadata: () => spMetadata(gateway.entities), jwks: () => gateway.identityKeys.jwks })
  await app.register(healthRoutes, { prefix, store })
  await app.register(logoutRoutes, {
    prefix, logout: gateway.logout, readLogout: gateway.readLogout, publicOrigin, basePath, postLogoutUrl: config.postLogoutUrl, secure, now
  })
}
