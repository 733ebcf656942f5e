// The key that signs the identity header. EdDSA (Ed25519) by default: from GATEWAY_IDENTITY_KEY, or
// generated once into the data dir and reused, so a restart does not invalidate what upstreams cache
// from /jwks.json. GATEWAY_IDENTITY_SECRET selects HS256 for upstreams that prefer a shared secret.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK } from 'jose'
import type { JWK } from 'jose'

export interface IdentityKeys {
  alg: 'EdDSA' | 'HS256'
  /** RFC 7638 thumbprint of the public key (EdDSA); an opaque tag derived from the secret (HS256). */
  kid: string
  signingKey: KeyObject | Uint8Array
  /** What /jwks.json publishes: the current public key and, during a rotation, the previous one. */
  jwks: { keys: JWK[] }
  /** kid and key together, read at one instant (a shared keyring switches keys by the clock). */
  signer? (): { kid: string, signingKey: KeyObject | Uint8Array }
}

export interface IdentityKeyOptions {
  /** Where a generated key is kept (GATEWAY_DATA_DIR). */
  dataDir: string
  /** PEM file with an Ed25519 private key (GATEWAY_IDENTITY_KEY). */
  keyFile?: string
  /** Shared secret for HS256 (GATEWAY_IDENTITY_SECRET); at least 32 bytes. Wins over keyFile. */
  secret?: string
  /** PEM file with the previous Ed25519 key (private or public), still published during a rotation. */
  previousKeyFile?: string
}

export const GENERATED_KEY_FILE = 'identity-key.pem'
export const MIN_SECRET_BYTES = 32

export async function loadIdentityKeys (opts: IdentityKeyOptions): Promise<IdentityKeys> {
  if (opts.secret !== undefined) return secretKeys(opts.secret)

  const privateKey = opts.keyFile !== undefined
    ? await readEd25519Key(opts.keyFile)
    : await generatedKey(opts.dataDir)
  const current = await publicJwk(createPublicKey(privateKey))
  const keys = [current]
  if (opts.previousKeyFile !== undefined) {
    const previous = await publicJwk(await readEd25519Key(opts.previousKeyFile, 'public'))
    if (previous.kid !== current.kid) keys.push(previous)
  }
  return { alg: 'EdDSA', kid: current.kid!, signingKey: privateKey, jwks: { keys } }
}

function secretKeys (secret: string): IdentityKeys {
  const bytes = new TextEncoder().encode(secret)
  if (bytes.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`GATEWAY_IDENTITY_SECRET is ${bytes.byteLength} bytes long; HS256 needs at least ` +
      `${MIN_SECRET_BYTES} (for example: openssl rand -base64 48)`)
  }
  // A tag, not a hash of the secret itself, so the kid says nothing about it.
  const kid = createHmac('sha256', bytes).update('saml-gateway identity kid').digest('base64url').slice(0, 16)
  // The secret is never published: an upstream gets it out of band.
  return { alg: 'HS256', kid, signingKey: bytes, jwks: { keys: [] } }
}

async function readEd25519Key (file: string, kind: 'private' | 'public' = 'private'): Promise<KeyObject> {
  let pem: string
  try {
    pem = await readFile(file, 'utf8')
  } catch (err) {
    throw new Error(`Cannot read the identity key ${file}: ${(err as Error).message}`, { cause: err })
  }
  return parseEd25519Key(pem, file, kind)
}

export function parseEd25519Key (pem: string, file: string, kind: 'private' | 'public'): KeyObject {
  let key: KeyObject
  try {
    // createPublicKey also takes a private key (or a certificate) and derives the public half.
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem)
  } catch (err) {
    throw new Error(`The identity key ${file} is not a PEM ${kind} key: ${(err as Error).message}`, { cause: err })
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`The identity key ${file} is a ${key.asymmetricKeyType ?? 'unknown'} key; ` +
      'an Ed25519 key is needed (openssl genpkey -algorithm ed25519)')
  }
  return key
}

/** The key in `<dataDir>/identity-key.pem`, made on first start (mode 0600) and reused after. */
async function generatedKey (dataDir: string): Promise<KeyObject> {
  const file = join(dataDir, GENERATED_KEY_FILE)
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null
    throw new Error(`Cannot read the identity key ${file}: ${err.message}`, { cause: err })
  })
  if (existing !== null) return parseEd25519Key(existing, file, 'private')

  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const { privateKey } = generateKeyPairSync('ed25519')
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  // Write aside, then link into place: link fails if another instance won the race, and nobody
  // ever reads a half-written key.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(temp, pem, { mode: 0o600, flag: 'wx' })
  try {
    await chmod(temp, 0o600) // whatever the umask
    await link(temp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return await readEd25519Key(file)
  } finally {
    await unlink(temp).catch(() => {})
  }
  return privateKey
}

export async function publicJwk (publicKey: KeyObject): Promise<JWK> {
  const { kty, crv, x } = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint({ kty, crv, x }, 'sha256')
  return { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' }
}
