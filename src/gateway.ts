// The gateway's parts, built once by buildApp and shared by the routes.
import type { Config } from './config/index.js'
import type { GatewayStore } from './session/store.js'
import type { LoginFlow } from './sp/login-flow.js'
import type { LogoutFlow } from './sp/logout-flow.js'
import type { LogoutExpectations } from './sp/read/logout-message.js'
import type { IdpTrust } from './runtime/idp-trust.js'
import type { SamlEntities } from './sp/write/entities.js'
import type { IdentityKeys } from './identity/keys.js'
import type { IdentityMinter } from './identity/mint.js'
import type { Dispatcher } from 'undici'

export interface Gateway {
  config: Config
  store: GatewayStore
  login: LoginFlow
  logout: LogoutFlow
  logoutExpectations: LogoutExpectations
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
