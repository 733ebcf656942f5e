// buildApp(config): the whole gateway as a Fastify instance, without listening and without
// touching process-wide state, so tests build as many as they like.
import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { randomUUID } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Config } from './config.js'
import type { Gateway } from './gateway.js'
import type { GatewayStore } from './session/store.js'
import { createStore } from './session/create-store.js'
import { guardStore } from './session/store-guard.js'
import { loadSharedState } from './session/shared-state.js'
import type { IdentityKeys } from './identity/keys.js'
import { createIdentityMinter } from './identity/mint.js'
import { createSamlEntities } from './sp/entities.js'
import { LoginFlow, type ResponseValidator } from './sp/login-flow.js'
import { LogoutFlow } from './sp/logout-flow.js'
import { hashSessionId, type IdentityMinter } from './identity/mint.js'
import { notifyLogout } from './upstream/notify-logout.js'
import { validateLoginResponse } from './sp/validate-response.js'
import { initSchemaValidator } from './sp/schema-validator.js'
import { acquireValidatorPool } from './sp/validator-pool.js'
import { IdpTrust } from './sp/idp-trust.js'
import { join } from 'node:path'
import type { ResponseExpectations } from './sp/types.js'
import errorHandler from './plugins/error-handler.js'
import securityHeaders from './plugins/security-headers.js'
import sessionPlugin from './plugins/session.js'
import samlRoutes from './plugins/saml-routes.js'
import logoutRoutes from './plugins/logout-routes.js'
import metricsPlugin from './plugins/metrics.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import { loggerOptions } from './logger.js'

export type { Config } from './config.js'

export interface AppDependencies {
  /** A store to use instead of the configured one (tests). */
  store?: GatewayStore
  /** The clock, epoch ms (tests fix it). */
  now?: () => number
  identityKeys?: IdentityKeys
  validate?: ResponseValidator
  upstreamDispatcher?: Dispatcher
  /** false: no logs (tests); an object: pino options or a pino-compatible stream destination. */
  logger?: boolean | Record<string, unknown>
}

/** What a login response must match; the IdP's issuers and certificates are read live from `trust`. */
export function responseExpectations (config: Config, trust: Pick<IdpTrust, 'issuers' | 'certs'> = { issuers: config.idp.issuers, certs: config.idp.certs }): ResponseExpectations {
  return {
    get idpIssuers () { return trust.issuers },
    get idpCerts () { return trust.certs },
    audience: config.sp.entityId,
    acsUrl: config.acsUrl,
    clockSkewMs: config.validation.clockSkewMs,
    wantAssertionsSigned: config.validation.wantAssertionsSigned,
    allowSha1: config.validation.allowSha1,
    maxMessageBytes: config.validation.maxMessageBytes,
    decryptionKey: config.sp.key
  }
}

export async function buildApp (config: Config, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now
  const app = Fastify({
    logger: deps.logger === false ? false : loggerOptions(config.logLevel, deps.logger),
    trustProxy: config.trustProxy,
    // Correlation ids are ours: a client cannot choose the id its errors are logged under.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: config.validation.maxMessageBytes + 16 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    // While closing, a request on a connection still open is served (and its connection closed),
    // not refused: the store is open until the last one ends (runtime/graceful-shutdown.ts).
    return503OnClosing: false
  })

  const rawStore = deps.store ?? createStore(config.session.store, {
    dataDir: config.dataDir,
    redisUrl: config.session.redisUrl,
    now,
    logger: app.log
  })
  const store = guardStore(rawStore, (err) => {
    app.log.error({ err, code: 'STORE_UNAVAILABLE' }, 'session store failed')
    app.metrics?.storeErrors.inc()
  })
  app.addHook('onClose', async () => { await rawStore.close() })

  // The cookie secret and identity keys: configured, or shared by every instance on the store.
  const shared = await loadSharedState(rawStore, config, { now, identityKeys: deps.identityKeys })
  app.addHook('onClose', async () => { shared.stop() })
  for (const problem of shared.disagreements) app.log.error({ code: 'SHARED_SECRET_MISMATCH' }, problem)
  const identityKeys = shared.identityKeys
  // The SAML schemas are compiled once per process, here rather than at the first login.
  initSchemaValidator()
  const idpTrust = new IdpTrust({
    issuers: config.idp.issuers,
    certs: config.idp.certs,
    metadataUrl: config.idp.metadataUrl,
    cacheFile: join(config.dataDir, 'idp-metadata.xml'),
    logger: app.log,
    now
  })
  await idpTrust.start()
  app.addHook('onClose', async () => { idpTrust.stop() })
  // Login responses are validated in worker threads, one per core (GATEWAY_VALIDATION_WORKERS;
  // 0 = inline), so that a login storm never blocks the event loop. One pool per process.
  const validatorPool = deps.validate === undefined && config.validation.workers > 0
    ? await acquireValidatorPool({ size: config.validation.workers, log: app.log })
    : undefined
  if (validatorPool !== undefined) app.addHook('onClose', async () => { await validatorPool.release() })
  const entities = createSamlEntities(config)
  const minter = createIdentityMinter(identityKeys, {
    issuer: `${config.publicOrigin}${config.basePath}`,
    audience: config.upstream.audience,
    now
  })
  const gateway: Gateway = {
    config,
    store,
    entities,
    identityKeys,
    minter,
    login: new LoginFlow({
      store,
      entities,
      expectations: responseExpectations(config, idpTrust),
      validate: deps.validate ?? validatorPool?.validate ?? validateLoginResponse,
      claims: config.attributes,
      allowIdpInitiated: config.validation.allowIdpInitiated,
      publicOrigin: config.publicOrigin,
      now,
      onRequestsDropped: (dropped) => app.log.warn({ dropped, code: 'AUTHN_REQUESTS_DROPPED' }, 'outstanding AuthnRequests at their bound: the oldest were dropped')
    }),
    logout: new LogoutFlow({
      store,
      entities,
      idpLogoutUrl: config.idp.logoutUrl,
      requireSignedRequests: config.validation.requireSignedLogout,
      notifyUpstream: upstreamLogoutNotifier(config, minter, deps.upstreamDispatcher)
    }),
    idpTrust,
    logoutExpectations: {
      get idpIssuers () { return idpTrust.issuers },
      get idpCerts () { return idpTrust.certs },
      sloUrl: config.sloUrl,
      allowSha1: config.validation.allowSha1,
      clockSkewMs: config.validation.clockSkewMs,
      maxMessageBytes: config.validation.maxMessageBytes
    },
    secureCookies: config.publicOrigin.startsWith('https:'),
    now,
    upstreamDispatcher: deps.upstreamDispatcher
  }
  app.decorate('gateway', gateway)

  await app.register(errorHandler, { basePath: config.basePath })
  await app.register(securityHeaders)
  await app.register(metricsPlugin, {
    basePath: config.basePath,
    exposure: config.metrics,
    certificateExpiry: () => idpTrust.certificateExpiry,
    countSessions: () => store.countSessions(),
    now
  })
  await app.register(formbody, { bodyLimit: config.validation.maxMessageBytes + 16 * 1024 })
  await app.register(sessionPlugin, {
    store,
    secret: shared.sessionSecret,
    ttlMs: config.session.ttlMs,
    basePath: config.basePath,
    secure: gateway.secureCookies
  })
  // Before the routes: it marks the login, ACS and SLO routes as they are added.
  await app.register(rateLimitPlugin, { basePath: config.basePath, limit: config.rateLimit })
  await app.register(samlRoutes, { prefix: config.basePath })
  await app.register(logoutRoutes, { prefix: config.basePath })
  return app
}

function upstreamLogoutNotifier (config: Config, minter: IdentityMinter, dispatcher?: Dispatcher): LogoutFlowNotifier | undefined {
  const url = config.upstream.logoutUrl
  if (url === undefined) return undefined
  return async ({ sessionId, user }) => notifyLogout({
    url,
    token: await minter.mint({ sub: user.nameId, sid: hashSessionId(sessionId), session_index: user.sessionIndex }, { method: 'POST', url }),
    timeoutMs: config.upstream.timeoutMs,
    correlationId: randomUUID(),
    dispatcher
  })
}
type LogoutFlowNotifier = NonNullable<ConstructorParameters<typeof LogoutFlow>[0]['notifyUpstream']>
