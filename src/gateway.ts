// createGateway(config, deps): every service of the gateway, built once, without Fastify: the
// store, the identity keys, the IdP trust, the validator pool, the SAML entities, the upstream and
// the login and logout flows. app.ts puts HTTP in front of it; close() lets every resource go.
import { join } from 'node:path'
import type { Dispatcher } from 'undici'
import type { Config } from './config/index.js'
import { loadIdentityKeys, type IdentityKeys } from './identity/keys.js'
import { createIdentityMinter } from './identity/mint.js'
import { IdpTrust, type TrustLogger } from './runtime/idp-trust.js'
import { acquireValidatorPool } from './runtime/shared-validator-pool.js'
import { createStore } from './session/create-store.js'
import { loadOrCreateSessionSecret } from './session/secret.js'
import { guardStore } from './session/store-guard.js'
import type { GatewayStore } from './session/store.js'
import { LoginFlow, type ResponseValidator } from './sp/login-flow.js'
import { LogoutFlow } from './sp/logout-flow.js'
import { readLogoutMessage, type InboundLogout, type LogoutExpectations, type LogoutInput } from './sp/read/logout-message.js'
import { validateLoginResponse } from './sp/read/response.js'
import { initSchemaValidator } from './sp/read/schema.js'
import type { ResponseExpectations } from './sp/types.js'
import { createSamlEntities, type SamlEntities } from './sp/write/entities.js'
import { resolveIdpEndpoints } from './sp/idp-endpoints.js'
import { Upstream } from './upstream/upstream.js'

export interface GatewayDependencies {
  /** A store to use instead of the configured one (tests). */
  store?: GatewayStore
  /** The clock, epoch ms (tests fix it). */
  now?: () => number
  identityKeys?: IdentityKeys
  validate?: ResponseValidator
  upstreamDispatcher?: Dispatcher
  /** Where the services log (the app's logger). */
  log: TrustLogger
  /** Told of every store failure, after it is logged (the metrics count them). */
  onStoreError?: (err: unknown) => void
}

export interface Gateway {
  config: Config
  /** Every failure of it is STORE_UNAVAILABLE (503). */
  store: GatewayStore
  identityKeys: IdentityKeys
  /** The IdP's issuers and signing certificates, refreshed from its metadata when configured. */
  idpTrust: IdpTrust
  entities: SamlEntities
  upstream: Upstream
  login: LoginFlow
  logout: LogoutFlow
  logoutExpectations: LogoutExpectations
  /** Reads a message at the SLO endpoint: in a validator worker when there are any, as logins are. */
  readLogout: (input: LogoutInput, nowMs: number) => Promise<InboundLogout>
  /** Signs the session and browser-binding cookies. */
  sessionSecret: string
  now: () => number
  /** Stops the trust refresh, lets the validator pool go, closes the store. */
  close: () => Promise<void>
}

export async function createGateway (config: Config, deps: GatewayDependencies): Promise<Gateway> {
  const now = deps.now ?? Date.now
  const { log } = deps
  const rawStore = deps.store ?? createStore(config.session.store, { dataDir: config.dataDir, redisUrl: config.session.redisUrl, now, logger: log })
  const store = guardStore(rawStore, (err) => {
    log.error({ err, code: 'STORE_UNAVAILABLE' }, 'session store failed')
    deps.onStoreError?.(err)
  })
  const identityKeys = deps.identityKeys ?? await loadIdentityKeys({ dataDir: config.dataDir, ...config.identity })
  // The SAML schemas are compiled once per process, here rather than at the first login.
  initSchemaValidator()
  const idpTrust = await startIdpTrust(config, log, now)
  // Login responses are validated in worker threads, one per core (GATEWAY_VALIDATION_WORKERS;
  // 0 = inline), so that a login storm never blocks the event loop. One pool per process.
  const pool = deps.validate === undefined && config.validation.workers > 0
    ? await acquireValidatorPool({ size: config.validation.workers, log })
    : undefined
  // The IdP's endpoints: from its metadata (file, or URL as fetched at start), else XC_SAML_*.
  const entities = createSamlEntities(config, resolveIdpEndpoints(config.idp, idpTrust.metadata ?? config.idp.metadata))
  const upstream = createUpstream(config, identityKeys, now, deps.upstreamDispatcher)
  const sloExpectations = logoutExpectations(config, idpTrust)
  return {
    config,
    store,
    identityKeys,
    idpTrust,
    entities,
    upstream,
    login: new LoginFlow({
      store,
      entities,
      expectations: responseExpectations(config, idpTrust),
      validate: deps.validate ?? pool?.validate ?? validateLoginResponse,
      claims: config.attributes,
      allowIdpInitiated: config.validation.allowIdpInitiated,
      publicOrigin: config.publicOrigin,
      now,
      onRequestsDropped: (dropped) => log.warn({ dropped, code: 'AUTHN_REQUESTS_DROPPED' }, 'outstanding AuthnRequests at their bound: the oldest were dropped')
    }),
    logout: new LogoutFlow({
      store,
      entities,
      now,
      requireSignedRequests: config.validation.requireSignedLogout,
      notifyUpstream: config.upstream.logoutUrl === undefined ? undefined : async (session) => await upstream.notifyLogout(session)
    }),
    logoutExpectations: sloExpectations,
    // The SLO endpoint parses untrusted XML too: in the validator workers, never on the event loop.
    readLogout: pool !== undefined
      ? async (input, nowMs) => await pool.readLogout(input, sloExpectations, nowMs)
      : async (input, nowMs) => readLogoutMessage(input, sloExpectations, nowMs),
    sessionSecret: loadOrCreateSessionSecret(config.dataDir, config.session.secret),
    now,
    close: async () => {
      idpTrust.stop()
      await pool?.release()
      await rawStore.close()
    }
  }
}

function createUpstream (config: Config, keys: IdentityKeys, now: () => number, dispatcher?: Dispatcher): Upstream {
  return new Upstream({
    loginUrl: config.upstream.loginUrl,
    logoutUrl: config.upstream.logoutUrl,
    timeoutMs: config.upstream.timeoutMs,
    minter: createIdentityMinter(keys, { issuer: `${config.publicOrigin}${config.basePath}`, audience: config.upstream.audience, now }),
    dispatcher
  })
}

/** The IdP trust, started: its certificates (and issuers) fetched from the metadata when configured. */
async function startIdpTrust (config: Config, log: TrustLogger, now: () => number): Promise<IdpTrust> {
  const trust = new IdpTrust({
    issuers: config.idp.issuers,
    certs: config.idp.certs,
    metadataUrl: config.idp.metadataUrl,
    cacheFile: join(config.dataDir, 'idp-metadata.xml'),
    logger: log,
    now
  })
  await trust.start()
  return trust
}

type LiveTrust = Pick<IdpTrust, 'issuers' | 'certs'>

/** What a login response must match; the IdP's issuers and certificates are read live from `trust`. */
export function responseExpectations (config: Config, trust: LiveTrust = { issuers: config.idp.issuers, certs: config.idp.certs }): ResponseExpectations {
  return {
    ...config.validation,
    get idpIssuers () { return trust.issuers },
    get idpCerts () { return trust.certs },
    audience: config.sp.entityId,
    acsUrl: config.acsUrl,
    decryptionKey: config.sp.key
  }
}

/** What a logout message must match, likewise. */
export function logoutExpectations (config: Config, trust: LiveTrust): LogoutExpectations {
  return {
    ...config.validation,
    get idpIssuers () { return trust.issuers },
    get idpCerts () { return trust.certs },
    sloUrl: config.sloUrl
  }
}
