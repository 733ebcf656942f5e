// What a gateway reads from its store at start so that several instances behave as one: the
// cookie secret and the identity keys (given in the configuration, or shared through the store),
// and whether this instance agrees with the others on them.
import type { GatewayStore } from './store.js'
import { loadIdentityKeys, type IdentityKeys } from '../identity/keys.js'
import { IdentityKeyring } from '../identity/keyring.js'
import { disagreement, recordAgreement, SHARED_TAG, sharedSessionSecret, tagOf, type Agreement } from './shared-secrets.js'

export interface SharedStateSettings {
  dataDir: string
  session: { secret?: string }
  identity: { keyFile?: string, previousKeyFile?: string, secret?: string }
}

export interface SharedState {
  sessionSecret: string
  identityKeys: IdentityKeys
  /** Problems to log: an instance configured unlike the others on this store. */
  disagreements: string[]
  /** Stops re-reading the keyring. */
  stop (): void
}

export async function loadSharedState (store: GatewayStore, settings: SharedStateSettings, opts: { now?: () => number, identityKeys?: IdentityKeys, keyringRefreshMs?: number } = {}): Promise<SharedState> {
  const sessionSecret = await sharedSessionSecret(store, { configured: settings.session.secret, dataDir: settings.dataDir })
  const configured = settings.identity.keyFile !== undefined || settings.identity.secret !== undefined
  const keyring = opts.identityKeys === undefined && !configured ? await new IdentityKeyring(store, opts.now).start({ dataDir: settings.dataDir, refreshMs: opts.keyringRefreshMs }) : undefined
  const identityKeys = opts.identityKeys ?? keyring ?? await loadIdentityKeys({ dataDir: settings.dataDir, ...settings.identity })
  const agreements: Agreement[] = [
    await recordAgreement(store, 'session-secret', sessionTag(settings)),
    await recordAgreement(store, 'identity', identityTag(settings, identityKeys))
  ]
  return {
    sessionSecret,
    identityKeys,
    disagreements: agreements.map(disagreement).filter((d): d is string => d !== undefined),
    stop: () => keyring?.stop()
  }
}

export function sessionTag (settings: Pick<SharedStateSettings, 'session'>): string {
  return settings.session.secret === undefined ? SHARED_TAG : tagOf(settings.session.secret)
}

/** For a configured key, its kid: public, and equal exactly when the keys are. */
export function identityTag (settings: Pick<SharedStateSettings, 'identity'>, keys: Pick<IdentityKeys, 'alg' | 'kid'>): string {
  const configured = settings.identity.keyFile !== undefined || settings.identity.secret !== undefined
  return configured ? `${keys.alg}:${keys.kid}` : SHARED_TAG
}
