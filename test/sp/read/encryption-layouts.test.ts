import t from 'tap'
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { validateLoginResponse } from '../../../src/sp/read/response.js'
import { buildTestApp, fixture } from '../../helpers/app.js'
import { authnRequestOf, newBrowser, send } from '../../helpers/login.js'
import { TEST_NAME_ID, TEST_NOW, buildResponseXml, buildUnsignedXml, signXml, testExpectations, toBase64, type ResponseOptions } from '../../helpers/idp.js'

const require = createRequire(import.meta.url)
const xmlenc = require('@authenio/xml-encryption')
const SP_KEY = fixture('sp.key')
const SP_CERT = fixture('sp.crt')
const XENC = 'http://www.w3.org/2001/04/xmlenc#'
const AES256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm'

const assertionOf = (xml: string): string => xml.slice(xml.indexOf('<Assertion '), xml.indexOf('</Assertion>') + '</Assertion>'.length)

async function encrypt (plain: string, cipher: string, keyTransport: string, cert = SP_CERT): Promise<string> {
  return await new Promise((resolve, reject) => xmlenc.encrypt(plain, {
    rsa_pub: cert, pem: cert, encryptionAlgorithm: cipher, keyEncryptionAlgorithm: keyTransport, disallowEncryptionWithInsecureAlgorithm: false, warnInsecureAlgorithm: false
  }, (err: Error | null, result: string) => err !== null ? reject(err) : resolve(result)))
}

interface Layout extends ResponseOptions {
  /** Sign the assertion before encrypting it (Entra); default not. */
  signAssertion?: boolean
  /** Sign the Response over the ciphertext (SimpleSAMLphp's default layout); default yes. */
  signResponse?: boolean
  cipher?: string
  keyTransport?: string
  /** Whose certificate it is encrypted to; default ours. */
  cert?: string
  /** Edit the XML after the Response signature. */
  tamper?: (xml: string) => string
}

/** Encrypt (the assertion, signed or not), then sign the Response over the ciphertext. */
async function encrypted (o: Layout = {}): Promise<string> {
  const xml = o.signAssertion === true ? buildResponseXml({ ...o, sign: 'assertion' }) : buildUnsignedXml(o)
  const assertion = assertionOf(xml)
  const ciphertext = await encrypt(assertion, o.cipher ?? AES256_GCM, o.keyTransport ?? `${XENC}rsa-oaep-mgf1p`, o.cert)
  let out = xml.replace(assertion, `<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${ciphertext}</EncryptedAssertion>`)
  if (o.signResponse !== false) out = signXml(out, 'response', o)
  return toBase64(o.tamper === undefined ? out : o.tamper(out))
}

const responseOnly = testExpectations({ decryptionKey: SP_KEY, wantAssertionsSigned: false })
const assertionsSigned = testExpectations({ decryptionKey: SP_KEY })

t.test('encrypted, Response signed over the ciphertext: the signature counts for the decrypted assertion when assertions need not be signed', async (t) => {
  const result = validateLoginResponse(await encrypted({ inResponseTo: '_r1' }), responseOnly, TEST_NOW)
  t.equal(result.nameId, TEST_NAME_ID)
  t.equal(result.inResponseTo, '_r1')
  const cbc = validateLoginResponse(await encrypted({ cipher: `${XENC}aes128-cbc` }), responseOnly, TEST_NOW)
  t.equal(cbc.nameId, TEST_NAME_ID, 'AES-128-CBC too')
})

t.test('the same layout when assertions must be signed: refused (SAML_UNSIGNED_ASSERTION, answered as SAML_DECRYPTION)', async (t) => {
  const layout = await encrypted()
  // Between decryption and the assertion's signature every failure answers SAML_DECRYPTION (no
  // padding oracle); the log keeps the first step's code.
  t.throws(() => validateLoginResponse(layout, assertionsSigned, TEST_NOW), { code: 'SAML_DECRYPTION', message: /SAML_UNSIGNED_ASSERTION/ })
})

t.test('every other signing layout of an encrypted assertion', async (t) => {
  const signedThenEncrypted = await encrypted({ signAssertion: true, signResponse: false })
  t.equal(validateLoginResponse(signedThenEncrypted, assertionsSigned, TEST_NOW).nameId, TEST_NAME_ID, 'assertion signed, then encrypted (Entra)')
  t.equal(validateLoginResponse(signedThenEncrypted, responseOnly, TEST_NOW).nameId, TEST_NAME_ID, '… also when assertions need not be signed')
  const both = await encrypted({ signAssertion: true })
  t.equal(validateLoginResponse(both, assertionsSigned, TEST_NOW).nameId, TEST_NAME_ID, 'assertion signed, encrypted, Response signed')
  const neither = await encrypted({ signResponse: false })
  t.throws(() => validateLoginResponse(neither, responseOnly, TEST_NOW), { code: 'SAML_DECRYPTION', message: /SAML_SIGNATURE/ }, 'nothing signed: refused')
})

t.test('the Response signature must verify, and everything else is still checked after decryption', async (t) => {
  const byAttacker = await encrypted({ signer: 'attacker' })
  t.throws(() => validateLoginResponse(byAttacker, responseOnly, TEST_NOW), { code: 'SAML_SIGNATURE' })
  const swapped = await encrypted({ tamper: (xml) => xml.replace(/<xenc:CipherValue>[^<]{8}/, (m) => m.slice(0, -8) + 'AAAAAAAA') })
  t.throws(() => validateLoginResponse(swapped, responseOnly, TEST_NOW), { code: 'SAML_SIGNATURE' }, 'ciphertext changed after signing')
  const cases: Array<[Layout, string, number?]> = [
    [{ audience: 'https://other.example' }, 'SAML_AUDIENCE'],
    [{ recipient: 'https://evil.example/acs' }, 'SAML_RECIPIENT'],
    [{ issuer: 'https://evil.example/' }, 'SAML_ISSUER'],
    [{ times: { scdNotOnOrAfter: 1000, notOnOrAfter: 1000 } }, 'SAML_EXPIRED', TEST_NOW + 200_000]
  ]
  for (const [layout, code, now] of cases) {
    const b64 = await encrypted(layout)
    t.throws(() => validateLoginResponse(b64, responseOnly, now ?? TEST_NOW), { code }, code)
  }
})

t.test('3DES-CBC: refused by name unless GATEWAY_ALLOW_3DES; RSA PKCS#1 v1.5 and unknown ciphers always refused', async (t) => {
  const tripleDes = await encrypted({ cipher: `${XENC}tripledes-cbc` })
  t.throws(() => validateLoginResponse(tripleDes, responseOnly, TEST_NOW), { code: 'SAML_WEAK_ALGORITHM', message: /tripledes-cbc.*GATEWAY_ALLOW_3DES/ })
  const allowed = validateLoginResponse(tripleDes, { ...responseOnly, allow3des: true }, TEST_NOW)
  t.equal(allowed.nameId, TEST_NAME_ID, 'decrypted with GATEWAY_ALLOW_3DES=true')
  const pkcs1 = await encrypted({ keyTransport: `${XENC}rsa-1_5` })
  t.throws(() => validateLoginResponse(pkcs1, { ...responseOnly, allow3des: true }, TEST_NOW), { code: 'SAML_WEAK_ALGORITHM', message: /rsa-1_5/ })
  const unknown = await encrypted({ tamper: (xml) => xml.replace(AES256_GCM, `${XENC}aes192-cbc`), signResponse: false })
  t.throws(() => validateLoginResponse(unknown, responseOnly, TEST_NOW), { code: 'SAML_WEAK_ALGORITHM', message: /aes192-cbc/ })
  const noKey = await encrypted({ cipher: `${XENC}tripledes-cbc` })
  t.throws(() => validateLoginResponse(noKey, testExpectations(), TEST_NOW), { code: 'SAML_ENCRYPTED', message: /no SP key/ }, 'without a key, the message says so')
  const toAnother = await encrypted({ cert: fixture('attacker.crt') })
  t.throws(() => validateLoginResponse(toAnother, responseOnly, TEST_NOW), { code: 'SAML_DECRYPTION' }, 'encrypted to another key')
})

t.test('through the gateway: accepted with GATEWAY_WANT_ASSERTIONS_SIGNED=false, and a 3DES refusal names the URI in the log', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const { app } = await buildTestApp(t, {
    env: { GATEWAY_SP_KEY: fixturePath('sp.key'), GATEWAY_SP_CERT: fixturePath('sp.crt'), GATEWAY_WANT_ASSERTIONS_SIGNED: 'false', GATEWAY_LOG_LEVEL: 'info', GATEWAY_VALIDATION_WORKERS: '0' },
    deps: { logger: { stream } }
  })
  const browser = newBrowser()
  const start = await send(app, browser, { url: '/api/auth/saml?returnTo=/agent' })
  const { id } = authnRequestOf(start.headers.location as string)
  const acs = await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: await encrypted({ inResponseTo: id }) } })
  t.equal(acs.statusCode, 502, 'accepted, then handed off (to an upstream that is not there)')
  const session = await send(app, browser, { url: '/api/auth/saml/session', headers: { accept: 'application/json' } })
  t.equal(JSON.parse(session.body).nameId, TEST_NAME_ID)

  const weak = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: await encrypted({ inResponseTo: null, cipher: `${XENC}tripledes-cbc` }) }, headers: { accept: 'application/json' } })
  t.equal(weak.statusCode, 400)
  t.equal(JSON.parse(weak.body).error, 'SAML_WEAK_ALGORITHM')
  const logged = lines.find((l) => l.code === 'SAML_WEAK_ALGORITHM')
  t.match(String(logged?.detail), `${XENC}tripledes-cbc`, 'the log line names the algorithm URI')
})

function fixturePath (name: string): string {
  return new URL(`../../../fixtures/${name}`, import.meta.url).pathname
}
