// No oracle on encrypted assertions (AES-CBC, as Entra's token encryption uses). Jager and
// Somorovsky's attack sends modified ciphertexts and reads, from the answer or its timing, whether
// the padding was good (the plaintext goes on to the XML parser) or bad (decryption fails). Here a
// few hundred modified ciphertexts of one real encrypted response, plus re-encrypted forgeries,
// must all answer one code and one message, and the median time of each class must be the same.
import t from 'tap'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { validateLoginResponse } from '../../../src/sp/read/response.js'
import { REPO_ROOT, TEST_NOW, buildResponseXml, buildUnsignedXml, signXml, testExpectations, toBase64 } from '../../helpers/idp.js'
import { buildTestApp } from '../../helpers/app.js'
import { send, newBrowser } from '../../helpers/login.js'

const require = createRequire(import.meta.url)
const xmlenc = require('@authenio/xml-encryption')
const SP_KEY_FILE = join(REPO_ROOT, 'fixtures/sp.key')
const SP_KEY = readFileSync(SP_KEY_FILE, 'utf8')
const SP_CERT = readFileSync(join(REPO_ROOT, 'fixtures/sp.crt'), 'utf8')
const SP_CERT_FILE = join(REPO_ROOT, 'fixtures/sp.crt')
const withKey = testExpectations({ decryptionKey: SP_KEY })

const assertionOf = (xml: string): string => xml.slice(xml.indexOf('<Assertion '), xml.indexOf('</Assertion>') + '</Assertion>'.length)

async function encrypt (plain: string): Promise<string> {
  return await new Promise((resolve, reject) => xmlenc.encrypt(plain, {
    rsa_pub: SP_CERT, pem: SP_CERT, encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc', keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p'
  }, (err: Error | null, result: string) => err !== null ? reject(err) : resolve(result)))
}

/** The response XML with its assertion replaced by `plain`, encrypted to our certificate. */
async function encryptedXml (xml: string, plain = assertionOf(xml)): Promise<string> {
  return xml.replace(assertionOf(xml), `<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${await encrypt(plain)}</EncryptedAssertion>`)
}

/** A small deterministic generator: the same modifications on every run. */
function prng (seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

/** Modified ciphertexts as the attack makes them: bytes of the IV, of the block before the last (the padding), anywhere, and of the encrypted key. */
function modifiedCiphertexts (xml: string, count: number): string[] {
  const values = [...xml.matchAll(/<xenc:CipherValue>([^<]+)<\/xenc:CipherValue>/g)]
  const key = values[0]
  const content = values[values.length - 1]
  const random = prng(0x5eed)
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const useKey = i % 10 === 9
    const bytes = Buffer.from((useKey ? key : content)[1], 'base64')
    const where = useKey
      ? Math.floor(random() * bytes.length)
      : [() => Math.floor(random() * 16), () => bytes.length - 17, () => bytes.length - 32 + Math.floor(random() * 16), () => 16 + Math.floor(random() * (bytes.length - 32))][i % 4]()
    bytes[where] ^= 1 + Math.floor(random() * 255)
    out.push(xml.replace((useKey ? key : content)[1], bytes.toString('base64')))
  }
  return out
}

const innerCode = (message: string): string => /: (\S+)$/.exec(message)?.[1] ?? message

let samples: Array<{ kind: string, b64: string }> = []

t.before(async () => {
  const genuine = await encryptedXml(buildResponseXml({ inResponseTo: null }))
  samples = modifiedCiphertexts(genuine, 300).map((xml) => ({ kind: 'modified', b64: toBase64(xml) }))
  // Well-formed plaintexts that fail later: the attack's "good padding" outcomes, made on purpose.
  const unsigned = buildUnsignedXml({ inResponseTo: null })
  const forged: Array<[string, string]> = [
    ['signed by another key', assertionOf(signXml(unsigned, 'assertion', { signer: 'attacker' }))],
    ['unsigned', assertionOf(unsigned)],
    ['signature broken', assertionOf(buildResponseXml({ inResponseTo: null })).replace('alice@contoso.com', 'mallory@contoso.com')],
    ['a DOCTYPE', `<!DOCTYPE a>${assertionOf(buildResponseXml({ inResponseTo: null }))}`],
    ['not XML', 'not <xml'],
    ['another element', '<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">x</Issuer>'],
    ['not schema-valid', assertionOf(buildResponseXml({ inResponseTo: null })).replace('<Subject>', '<Subject><Wrong/>')]
  ]
  for (const [kind, plain] of forged) samples.push({ kind, b64: toBase64(await encryptedXml(buildUnsignedXml({ inResponseTo: null }), plain)) })
})

t.test('every modified or forged ciphertext: SAML_DECRYPTION, whatever step failed', async (t) => {
  const inner = new Map<string, number>()
  let others = 0
  let unchanged = 0
  for (const { kind, b64 } of samples) {
    try {
      // A byte of the random padding (ISO 10126) changes no plaintext: the genuine assertion, read as it is.
      const result = validateLoginResponse(b64, withKey, TEST_NOW)
      t.equal(result.nameId, 'alice@contoso.com', `${kind}: an unchanged plaintext, read as the genuine assertion`)
      unchanged++
    } catch (err) {
      const e = err as { code?: string, message: string }
      if (e.code !== 'SAML_DECRYPTION') { others++; t.fail(`${kind}: ${String(e.code)} ${e.message}`) }
      const step = innerCode(e.message)
      inner.set(step, (inner.get(step) ?? 0) + 1)
    }
  }
  t.equal(others, 0, `${samples.length - unchanged} refused documents, one code`)
  t.ok(unchanged < 10, `only a few modifications left the plaintext as it was (${unchanged})`)
  t.comment(`the steps that failed, each answered SAML_DECRYPTION: ${JSON.stringify(Object.fromEntries(inner))}`)
  // The oracle existed: the modifications reach different steps (decryption itself, the parser, the schema, the signature).
  t.ok(inner.has('SAML_ENCRYPTED'), 'decryption failures among them')
  t.ok(inner.has('SAML_MALFORMED'), 'plaintexts that reached the parser among them')
  t.ok(inner.has('SAML_SIGNATURE') || inner.has('SAML_UNSIGNED_ASSERTION'), 'plaintexts that reached the signature check among them')
})

t.test('the Response signature is checked over the ciphertext before anything is decrypted', async (t) => {
  const signedEnvelope = signXml(await encryptedXml(buildUnsignedXml({ inResponseTo: null })), 'response')
  const [modified] = modifiedCiphertexts(signedEnvelope, 1)
  t.throws(() => validateLoginResponse(toBase64(modified), withKey, TEST_NOW), { code: 'SAML_SIGNATURE' }, 'a modified ciphertext under a Response signature never reaches decryption')
})

t.test('over HTTP: one status, code and message per class, and the same median time', async (t) => {
  const h = await buildTestApp(t, { env: { GATEWAY_SP_KEY: SP_KEY_FILE, GATEWAY_SP_CERT: SP_CERT_FILE, GATEWAY_VALIDATION_WORKERS: '0', GATEWAY_RATE_LIMIT: '0' } })
  // Timed: the modified ciphertexts, all of one length, by the step that failed; answers: every class.
  const byStep = new Map<string, string[]>()
  const all = new Map<string, string[]>()
  const rawMs = new Map<string, number[]>()
  for (const { kind, b64 } of samples) {
    const started = performance.now()
    try { validateLoginResponse(b64, withKey, TEST_NOW) } catch (err) {
      const step = innerCode((err as Error).message)
      all.set(step, [...(all.get(step) ?? []), b64])
      if (kind !== 'modified') continue
      rawMs.set(step, [...(rawMs.get(step) ?? []), performance.now() - started])
      byStep.set(step, [...(byStep.get(step) ?? []), b64])
    }
  }
  t.comment(`without the floor, median ms of the validation alone per class: ${JSON.stringify(Object.fromEntries([...rawMs].map(([k, v]) => [k, Number(median(v).toFixed(2))])))}`)
  const answers = new Set<string>()
  for (const list of all.values()) {
    const res = await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: list[0] }, headers: { accept: 'application/json' } })
    answers.add(`${res.statusCode} ${JSON.stringify({ ...res.json(), correlationId: undefined })}`)
    const page = await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: list[0] }, headers: { accept: 'text/html' } })
    answers.add(`${page.statusCode} ${page.body.replace(/[0-9a-f-]{36}/g, 'ID')}`)
  }
  t.equal(answers.size, 2, `one answer (JSON, and HTML) for ${all.size} classes: ${[...answers][0]}`)
  const medians: Record<string, number> = {}
  const rounds = Number(process.env.ORACLE_ROUNDS ?? 15)
  const times = new Map<string, number[]>()
  for (let round = 0; round < rounds; round++) {
    // Interleaved, so that the machine's load falls on every class alike.
    for (const [step, list] of byStep) {
      const b64 = list[round % list.length]
      const started = performance.now()
      await send(h.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: b64 }, headers: { accept: 'application/json' } })
      times.set(step, [...(times.get(step) ?? []), performance.now() - started])
    }
  }
  for (const [step, list] of times) medians[step] = median(list)
  const values = Object.values(medians)
  const spread = Math.max(...values) - Math.min(...values)
  t.comment(`median ms per class (${rounds} each): ${JSON.stringify(Object.fromEntries(Object.entries(medians).map(([k, v]) => [k, Number(v.toFixed(2))])))}; spread ${spread.toFixed(2)} ms`)
  // The tolerance is the shared machine's noise (10% of the floor); without the floor the classes
  // lie 20-50 ms apart (the comment above), bad padding being the fastest.
  t.ok(spread < Math.max(3, Math.min(...values) * 0.1), `medians within 10% of each other: spread ${spread.toFixed(2)} ms`)
})

function median (list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
