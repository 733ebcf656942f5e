import t from 'tap'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { validateLoginResponse } from '../../../src/sp/read/response.js'
import { REPO_ROOT, TEST_NAME_ID, TEST_NOW, buildResponseXml, signXml, testExpectations, toBase64, type ResponseOptions } from '../../helpers/idp.js'

const require = createRequire(import.meta.url)
const xmlenc = require('@authenio/xml-encryption')
const SP_KEY = readFileSync(join(REPO_ROOT, 'fixtures/sp.key'), 'utf8')
const SP_CERT = readFileSync(join(REPO_ROOT, 'fixtures/sp.crt'), 'utf8')
const ATTACKER_CERT = readFileSync(join(REPO_ROOT, 'fixtures/attacker.crt'), 'utf8')

const assertionOf = (xml: string): string => xml.slice(xml.indexOf('<Assertion '), xml.indexOf('</Assertion>') + '</Assertion>'.length)

async function encrypt (plain: string, cert = SP_CERT, algorithm = 'http://www.w3.org/2001/04/xmlenc#aes256-cbc'): Promise<string> {
  return await new Promise((resolve, reject) => xmlenc.encrypt(plain, {
    rsa_pub: cert, pem: cert, encryptionAlgorithm: algorithm, keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p'
  }, (err: Error | null, result: string) => err !== null ? reject(err) : resolve(result)))
}

/** Entra with token encryption: the assertion is signed, then encrypted to our certificate. */
async function encryptedResponse (o: ResponseOptions & { cert?: string, cipher?: string, signResponse?: boolean } = {}): Promise<string> {
  const xml = buildResponseXml(o)
  const assertion = assertionOf(xml)
  let out = xml.replace(assertion, `<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${await encrypt(assertion, o.cert, o.cipher)}</EncryptedAssertion>`)
  if (o.signResponse === true) out = signXml(out, 'response')
  return toBase64(out)
}

const withKey = testExpectations({ decryptionKey: SP_KEY })

t.test('an encrypted, signed assertion is decrypted with GATEWAY_SP_KEY and accepted', async (t) => {
  const result = validateLoginResponse(await encryptedResponse({ inResponseTo: '_req1' }), withKey, TEST_NOW)
  t.equal(result.nameId, TEST_NAME_ID)
  t.equal(result.inResponseTo, '_req1')
  const gcm = validateLoginResponse(await encryptedResponse({ cipher: 'http://www.w3.org/2009/xmlenc11#aes256-gcm' }), withKey, TEST_NOW)
  t.equal(gcm.nameId, TEST_NAME_ID, 'AES-GCM too')
  const both = validateLoginResponse(await encryptedResponse({ signResponse: true }), withKey, TEST_NOW)
  t.equal(both.nameId, TEST_NAME_ID, 'with a Response signature over the ciphertext too')
})

t.test('without an SP key: SAML_ENCRYPTED; encrypted to another key, or tampered: SAML_DECRYPTION', async (t) => {
  const b64 = await encryptedResponse()
  t.throws(() => validateLoginResponse(b64, testExpectations(), TEST_NOW), { code: 'SAML_ENCRYPTED' })
  const doc1 = await encryptedResponse({ cert: ATTACKER_CERT })
  t.throws(() => validateLoginResponse(doc1, withKey, TEST_NOW), { code: 'SAML_DECRYPTION' })
  const xml = Buffer.from(b64, 'base64').toString()
  // Flip the content ciphertext (the last CipherValue: the one after the encrypted key).
  const values = [...xml.matchAll(/<xenc:CipherValue>([^<]+)<\/xenc:CipherValue>/g)]
  const last = values[values.length - 1]
  const flipped = Buffer.from(last[1], 'base64')
  flipped[flipped.length - 20] ^= 0xff
  const tampered = xml.replace(last[1], flipped.toString('base64'))
  t.not(tampered, xml)
  t.throws(() => validateLoginResponse(toBase64(tampered), withKey, TEST_NOW), { code: 'SAML_DECRYPTION' })
})

t.test('after decryption every check still applies', async (t) => {
  const doc2 = await encryptedResponse({ audience: 'https://other.example' })
  t.throws(() => validateLoginResponse(doc2, withKey, TEST_NOW), { code: 'SAML_AUDIENCE' })
  const doc3 = await encryptedResponse({ signer: 'attacker' })
  // Up to the decrypted assertion's signature, one code for every failure (test/sp/decryption-oracle.test.ts).
  t.throws(() => validateLoginResponse(doc3, withKey, TEST_NOW), { code: 'SAML_DECRYPTION' })
  const doc4 = await encryptedResponse({ sign: 'none' })
  t.throws(() => validateLoginResponse(doc4, withKey, TEST_NOW), { code: 'SAML_DECRYPTION' })
  const doc5 = await encryptedResponse({ times: { scdNotOnOrAfter: -1000, notOnOrAfter: -1000 } })
  t.throws(() => validateLoginResponse(doc5, withKey, TEST_NOW + 200_000), { code: 'SAML_EXPIRED' })
  const forgedEnvelope = await encryptedResponse({ signResponse: true })
  const broken = Buffer.from(forgedEnvelope, 'base64').toString().replace('Destination="https://motion.example.com', 'Destination="https://motion.example.co')
  t.throws(() => validateLoginResponse(toBase64(broken), withKey, TEST_NOW), { code: 'SAML_SIGNATURE' }, 'a Response signature that does not verify is not excused')
})
