// The identity keyring that every gateway on one store shares, for when GATEWAY_IDENTITY_KEY and
// GATEWAY_IDENTITY_SECRET are unset: created once in the store (atomically: the first instance's
// wins), read by every instance, so /jwks.json is the same whichever instance answers.
//
// Rotation (`saml-gateway rotate-identity-key`) adds a key that is published at once but signs only
// from `activeFrom`, a grace period later, and gives the old key a `retireAt` after that. Each
// instance re-reads the keyring every KEYRING_REFRESH_MS and picks its signing key by the clock, so
// all switch at the same moment, and none ever signs with a key an upstream could not yet have
// fetched (the grace covers our refresh and the JWKS max-age), nor drops one whose tokens live on.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JWK } from 'jose'
import type { GatewayStore } from '../session/store.js'
import { GENERATED_KEY_FILE, parseEd25519Key, publicJwk, type IdentityKeys } from './keys.js'

export const KEYRING_NAME = 'identity-keyring'
/** How often an instance re-reads the keyring from the store. */
export const KEYRING_REFRESH_MS = 30_000
/** /jwks.json's Cache-Control max-age, in ms: an upstream may hold a copy this long. */
export const JWKS_MAX_AGE_MS = 300_000
/** The shortest grace a rotation may have: one refresh of ours and one JWKS cache lifetime. */
export const MIN_GRACE_MS = KEYRING_REFRESH_MS + JWKS_MAX_AGE_MS
export const DEFAULT_GRACE_MS = 10 * 60_000
/** How long the old key stays published after the new one signs: tokens live 60 s, caches 300 s. */
export const DEFAULT_RETAIN_MS = 10 * 60_000

export interface StoredKey {
  /** PKCS#8 PEM of the Ed25519 private key. */
  pem: string
  kid: string
  /** Epoch ms from which it signs. */
  activeFrom: number
  /** Epoch ms from which it is no longer published. */
  retireAt?: number
}

export interface StoredKeyring { keys: StoredKey[] }

export class IdentityKeyring implements IdentityKeys {
  readonly alg = 'EdDSA' as const
  private parsed = new Map<string, { key: KeyObject, jwk: JWK }>()
  private ring: StoredKeyring = { keys: [] }
  private timer?: NodeJS.Timeout

  constructor (private readonly store: GatewayStore, private readonly now: () => number = Date.now) {}

  /** Reads the keyring, creating it first when the store has none (seeded from a legacy key file). */
  async start (opts: { dataDir?: string, refreshMs?: number } = {}): Promise<this> {
    const seed = await initialKey(opts.dataDir)
    await this.load(await this.store.createShared(KEYRING_NAME, JSON.stringify({ keys: [seed] })))
    if (opts.refreshMs !== 0) {
      this.timer = setInterval(() => { this.refresh().catch(() => {}) }, opts.refreshMs ?? KEYRING_REFRESH_MS)
      this.timer.unref()
    }
    return this
  }

  /** Re-reads the keyring (a rotation made elsewhere). A failing store keeps the last good copy. */
  async refresh (): Promise<void> {
    const json = await this.store.getShared(KEYRING_NAME)
    if (json !== null) await this.load(json)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  signer (): { kid: string, signingKey: KeyObject } {
    const { kid } = this.current()
    return { kid, signingKey: this.parsed.get(kid)!.key }
  }

  get kid (): string { return this.current().kid }
  get signingKey (): KeyObject { return this.parsed.get(this.current().kid)!.key }
  get jwks (): { keys: JWK[] } {
    const now = this.now()
    return { keys: this.ring.keys.filter(k => k.retireAt === undefined || k.retireAt > now).map(k => this.parsed.get(k.kid)!.jwk) }
  }

  /** The keyring as stored, for the rotate command and tests. */
  get keys (): readonly StoredKey[] { return this.ring.keys }

  /** The key that signs now: the newest already active. */
  private current (): StoredKey {
    const now = this.now()
    const active = this.ring.keys.filter(k => k.activeFrom <= now)
    const pool = active.length > 0 ? active : this.ring.keys
    return pool.reduce((a, b) => (b.activeFrom > a.activeFrom ? b : a))
  }

  private async load (json: string): Promise<void> {
    const ring = parseKeyring(json)
    const parsed = new Map<string, { key: KeyObject, jwk: JWK }>()
    for (const k of ring.keys) {
      const known = this.parsed.get(k.kid)
      if (known !== undefined) { parsed.set(k.kid, known); continue }
      const key = parseEd25519Key(k.pem, 'the identity keyring in the store', 'private')
      parsed.set(k.kid, { key, jwk: await publicJwk(createPublicKey(key)) })
    }
    this.parsed = parsed
    this.ring = ring
  }
}

export function parseKeyring (json: string): StoredKeyring {
  const ring = JSON.parse(json) as StoredKeyring
  if (!Array.isArray(ring.keys) || ring.keys.length === 0) throw new Error('the identity keyring in the store is empty or damaged')
  return ring
}

export async function newStoredKey (activeFrom: number, key?: KeyObject): Promise<StoredKey> {
  const privateKey = key ?? generateKeyPairSync('ed25519').privateKey
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const { kid } = await publicJwk(createPublicKey(privateKey))
  return { pem, kid: kid!, activeFrom }
}

/** A key generated into the data dir by an earlier version is adopted, so upstreams keep trusting it. */
async function initialKey (dataDir?: string): Promise<StoredKey> {
  if (dataDir !== undefined) {
    const file = join(dataDir, GENERATED_KEY_FILE)
    const pem = await readFile(file, 'utf8').catch(() => null)
    if (pem !== null) return await newStoredKey(0, parseEd25519Key(pem, file, 'private'))
  }
  return await newStoredKey(0)
}

export interface RotationOptions {
  now?: number
  graceMs?: number
  retainMs?: number
}

export interface Rotation { previous: StoredKey, next: StoredKey, retired: StoredKey[] }

/**
 * Adds a new key, signing from now + grace; the key signing now stays published until retain after
 * that; keys already past their retireAt are dropped. Compare-and-set, retried if another writer
 * got in between. Refuses while an earlier rotation has not reached its switch.
 */
export async function rotateIdentityKey (store: GatewayStore, opts: RotationOptions = {}): Promise<Rotation> {
  const now = opts.now ?? Date.now()
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS
  const retainMs = opts.retainMs ?? DEFAULT_RETAIN_MS
  if (graceMs < MIN_GRACE_MS) throw new RangeError(`the grace period must be at least ${MIN_GRACE_MS / 1000} s (one keyring refresh and one JWKS cache lifetime)`)
  for (let attempt = 0; attempt < 5; attempt++) {
    const json = await store.getShared(KEYRING_NAME)
    if (json === null) throw new Error('no identity keyring in the store yet: start a gateway first (it creates one)')
    const ring = parseKeyring(json)
    const pending = ring.keys.find(k => k.activeFrom > now)
    if (pending !== undefined) throw new Error(`a rotation is under way: key ${pending.kid} signs from ${new Date(pending.activeFrom).toISOString()}`)
    const previous = ring.keys.filter(k => k.activeFrom <= now).reduce((a, b) => (b.activeFrom > a.activeFrom ? b : a))
    const next = await newStoredKey(now + graceMs)
    const retired = ring.keys.filter(k => k.retireAt !== undefined && k.retireAt <= now)
    const kept = ring.keys.filter(k => !retired.includes(k)).map(k =>
      k === previous ? { ...k, retireAt: next.activeFrom + retainMs } : k)
    if (await store.replaceShared(KEYRING_NAME, json, JSON.stringify({ keys: [...kept, next] }))) {
      return { previous: { ...previous, retireAt: next.activeFrom + retainMs }, next, retired }
    }
  }
  throw new Error('the identity keyring kept changing while rotating; try again')
}
