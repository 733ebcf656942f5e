// The gateway's parts, built once by buildApp and shared by the routes.
import type { Config } from './config.js'
import type { GatewayStore } from './session/store.js'
import type { LoginFlow } from './sp/login-flow.js'
import type { LogoutFlow } from './sp/logout-flow.js'
import type { InboundLogout, LogoutExpectations, LogoutInput } from './sp/logout-message.js'
import type { IdpTrust } from './sp/idp-trust.js'
import type { SamlEntities } from './sp/entities.js'
import type { IdentityKeys } from './identity/keys.js'
import type { IdentityMinter } from './identity/mint.js'
import type { Dispatcher } from 'undici'

export interface Gateway {
  config: Config
  store: GatewayStore
  login: LoginFlow
  logout: LogoutFlow
  logoutExpectations: LogoutExpectations
  /** Reads a message at the SLO endpoint: in a validator worker when there are any. */
  readLogout: (input: LogoutInput, nowMs: number) => Promise<InboundLogout>
  /** The IdP's issuers and signing certificates, refreshed from its metadata when configured. */
  idpTrust: IdpTrust
  entities: SamlEntities
  identityKeys: IdentityKeys
  minter: IdentityMinter
  /** Where the cookies may be Secure (https public origin). */
  secureCookies: boolean
  now: () => number
  /** undici dispatcher for upstream calls (tests may pass their own). */
  upstreamDispatcher?: Dispatcher
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway
  }
}
