import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import { GENERATED_KEY_FILE, loadIdentityKeys } from '../../src/identity/keys.js'

const SECRET = 'a-shared-secret-that-is-long-enough-for-hs256!'

const edPem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string

t.test('a key is generated once into the data dir and reused', async (t) => {
  const dataDir = join(t.testdir(), 'data', 'nested') // does not exist yet
  const first = await loadIdentityKeys({ dataDir })
  const file = join(dataDir, GENERATED_KEY_FILE)
  t.ok(existsSync(file), 'the key file is written')
  t.equal(statSync(file).mode & 0o777, 0o600, 'mode 0600')
  t.equal(first.alg, 'EdDSA')

  const second = await loadIdentityKeys({ dataDir })
  t.equal(second.kid, first.kid, 'same kid on the next start')
  t.same(second.jwks, first.jwks)
})

t.test('the jwks publishes the public key with its thumbprint as kid', async (t) => {
  const keys = await loadIdentityKeys({ dataDir: t.testdir() })
  t.equal(keys.jwks.keys.length, 1)
  const [jwk] = keys.jwks.keys
  t.match(jwk, { kty: 'OKP', crv: 'Ed25519', kid: keys.kid, alg: 'EdDSA', use: 'sig' })
  t.notOk('d' in jwk, 'no private part')
  t.equal(keys.kid, await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }))
})

t.test('two instances starting at once agree on one key', async (t) => {
  const dataDir = join(t.testdir(), 'data')
  const [a, b, c] = await Promise.all([1, 2, 3].map(async () => await loadIdentityKeys({ dataDir })))
  t.equal(a.kid, b.kid)
  t.equal(b.kid, c.kid)
  const second = await loadIdentityKeys({ dataDir })
  t.equal(second.kid, a.kid)
})

t.test('a PEM keyFile is honoured and nothing is generated', async (t) => {
  const dir = t.testdir({ 'key.pem': edPem() })
  const dataDir = join(dir, 'data')
  const fromFile = await loadIdentityKeys({ dataDir, keyFile: join(dir, 'key.pem') })
  const again = await loadIdentityKeys({ dataDir, keyFile: join(dir, 'key.pem') })
  t.equal(fromFile.kid, again.kid)
  t.notOk(existsSync(join(dataDir, GENERATED_KEY_FILE)), 'no generated key')
  const generated = await loadIdentityKeys({ dataDir })
  t.not(generated.kid, fromFile.kid, 'the file key, not a generated one')
})

t.test('a keyFile that is not Ed25519, or not there, is refused clearly', async (t) => {
  const dir = t.testdir({ 'garbage.pem': 'not a key' })
  await t.rejects(loadIdentityKeys({ dataDir: dir, keyFile: join(import.meta.dirname, '../../fixtures/idp.key') }),
    { message: /is a rsa key; an Ed25519 key is needed/ })
  await t.rejects(loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'garbage.pem') }),
    { message: /is not a PEM private key/ })
  await t.rejects(loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'missing.pem') }),
    { message: /Cannot read the identity key .*missing\.pem/ })
})

t.test('rotation: the previous key is published next to the current one', async (t) => {
  const dir = t.testdir({ 'old.pem': edPem(), 'new.pem': edPem() })
  const old = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'old.pem') })
  const keys = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'new.pem'), previousKeyFile: join(dir, 'old.pem') })
  t.same(keys.jwks.keys.map((k) => k.kid), [keys.kid, old.kid])
  t.match(keys.jwks.keys[1], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
  t.notOk('d' in keys.jwks.keys[1])

  const same = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'new.pem'), previousKeyFile: join(dir, 'new.pem') })
  t.equal(same.jwks.keys.length, 1, 'no duplicate when the previous key is the current one')
})

t.test('a secret selects HS256 with an empty jwks', async (t) => {
  const keys = await loadIdentityKeys({ dataDir: t.testdir(), secret: SECRET })
  t.equal(keys.alg, 'HS256')
  t.same(keys.jwks, { keys: [] })
  t.ok(keys.signingKey instanceof Uint8Array)
  t.match(keys.kid, /^[\w-]{16}$/)
  t.notMatch(keys.kid, SECRET)
})

t.test('a secret shorter than 32 bytes is refused', async (t) => {
  await t.rejects(loadIdentityKeys({ dataDir: t.testdir(), secret: 'x'.repeat(31) }),
    { message: /GATEWAY_IDENTITY_SECRET is 31 bytes long; HS256 needs at least 32/ })
  const keys = await loadIdentityKeys({ dataDir: t.testdir(), secret: 'x'.repeat(32) })
  t.equal(keys.alg, 'HS256', '32 bytes is enough')
})
