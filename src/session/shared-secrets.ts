// What several gateways on one store must agree on without being told: the cookie-signing secret
// and the identity key (identity/keyring.ts). When GATEWAY_SESSION_SECRET is unset, the first
// instance creates the secret in the store (insert-if-absent: the first one's wins) and every
// instance uses the stored one; a secret an earlier version generated into the data dir is adopted
// so that live cookies stay valid. When values are given, they win; each instance records a tag
// of what it uses (an HMAC, never the value) so that an instance configured differently is told at
// start and by `check`.
//
// Not encrypted at rest: whoever can read this store can read the sessions themselves (and use
// them), and whoever can write it can plant one; a key to encrypt with would be one more secret to
// hand to every instance, which is what this file exists to spare. Protect the store instead
// (Redis: requirepass/ACL and TLS, not reachable but by the gateways; SQLite: the 0600 data dir).
import { createHmac, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { GatewayStore } from './store.js'

export const SESSION_SECRET_NAME = 'session-secret'
export const LEGACY_SESSION_SECRET_FILE = 'session-secret'

/** The secret every instance on this store signs cookies with. */
export async function sharedSessionSecret (store: GatewayStore, opts: { configured?: string, dataDir?: string } = {}): Promise<string> {
  if (opts.configured !== undefined) return opts.configured
  const legacy = opts.dataDir === undefined
    ? null
    : await readFile(join(opts.dataDir, LEGACY_SESSION_SECRET_FILE), 'utf8').then(s => s.trim() || null, () => null)
  return await store.createShared(SESSION_SECRET_NAME, legacy ?? randomBytes(48).toString('base64url'))
}

/** A tag that says whether two values are equal and nothing else about them. */
export function tagOf (value: string): string {
  return createHmac('sha256', value).update('saml-gateway agreement tag').digest('base64url').slice(0, 22)
}

export type AgreementName = 'session-secret' | 'identity'

export interface Agreement {
  name: AgreementName
  /** What this instance uses: a tag of the value (or `shared-keyring`). */
  tag: string
  /** What the store says the last instance to start used, if any. */
  stored: string | null
}

/** Records this instance's tag; answers the one it replaced so the caller can warn on a difference. */
export async function recordAgreement (store: GatewayStore, name: AgreementName, tag: string): Promise<Agreement> {
  const key = `agreement:${name}`
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await store.getShared(key)
    if (stored === tag || await store.replaceShared(key, stored, tag)) return { name, tag, stored }
  }
  return { name, tag, stored: await store.getShared(key) }
}

/** Compares without writing (for `check`). */
export async function compareAgreement (store: GatewayStore, name: AgreementName, tag: string): Promise<Agreement> {
  return { name, tag, stored: await store.getShared(`agreement:${name}`) }
}

export function disagreement (a: Agreement): string | undefined {
  if (a.stored === null || a.stored === a.tag) return undefined
  const variable = a.name === 'session-secret' ? 'GATEWAY_SESSION_SECRET' : 'GATEWAY_IDENTITY_KEY / GATEWAY_IDENTITY_SECRET'
  return `${variable}: another gateway on this store uses a different ${a.name === 'session-secret' ? 'session secret' : 'identity key'} ` +
    `(${describe(a.stored)}; here ${describe(a.tag)}). Fix: give every instance the same value, or leave it unset on all of them ` +
    'so that they share the one kept in the store'
}

function describe (tag: string): string {
  return tag === SHARED_TAG ? 'the one kept in the store' : `tag ${tag}`
}

/** The tag of an instance that uses the value kept in the store. */
export const SHARED_TAG = 'shared-in-store'
