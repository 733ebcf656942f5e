// Encrypted assertions (Entra "token encryption", or any IdP that encrypts to our GATEWAY_SP_CERT):
// the EncryptedAssertion is decrypted with GATEWAY_SP_KEY and put back in its place, and the
// result goes through every check again, as if the IdP had sent it in the clear.
//
// A Response signature covers the ciphertext, so it is verified first, on the document as received
// and before anything is decrypted, then removed. The caller learns whether it verified: when
// assertions need not be signed (GATEWAY_WANT_ASSERTIONS_SIGNED=false), it vouches for the assertion
// it decrypts to (SimpleSAMLphp with saml20.sign.assertion=false); otherwise the assertion must carry
// its own signature (Entra signs, then encrypts) and the values come from it only. The encryption
// algorithms are checked before decrypting (encryption-algorithms.ts): a refusal names the algorithm.
// From decryption to the assertion's signature, every failure is one and the same (see below).
import { createRequire } from 'node:module'
import { XMLSerializer } from '@xmldom/xmldom'
import { errors } from '../../errors.js'
import type { ResponseExpectations } from '../types.js'
import { idCounter, idpKeys, verifyEnvelopedSignature } from './signature.js'
import { NS, childElements, isElement, parseXml, refuseDoctype } from './xml.js'
import { prescanXml } from './xml-limits.js'
import { checkEncryptionAlgorithms } from './encryption-algorithms.js'

const require = createRequire(import.meta.url)
const xmlenc = require('@authenio/xml-encryption') as {
  decrypt: (xml: string, options: { key: string, disallowDecryptionWithInsecureAlgorithm: boolean, warnInsecureAlgorithm: boolean }, callback: (err: Error | null, result?: string) => void) => void
}

/** The response XML with its one EncryptedAssertion replaced by the decrypted Assertion; responseSigned: a Response signature verified. */
export function decryptResponse (xml: string, doc: Document, response: Element, exp: ResponseExpectations & { decryptionKey: string }): { xml: string, responseSigned: boolean } {
  const encrypted = doc.getElementsByTagNameNS(NS.saml, 'EncryptedAssertion')
  if (encrypted.length !== 1 || doc.getElementsByTagNameNS(NS.saml, 'Assertion').length !== 0 || encrypted[0].parentNode !== response) {
    throw new errors.SamlAssertionCount()
  }
  const signatures = childElements(response, NS.ds, 'Signature')
  if (signatures.length > 1) throw new errors.SamlSignature('more than one Response signature')
  if (signatures.length === 1) {
    verifyEnvelopedSignature({ xml, signature: signatures[0], signed: response, idCount: idCounter(doc), keys: idpKeys(exp.idpCerts), allowSha1: exp.allowSha1 })
    response.removeChild(signatures[0])
  }
  // Before decryption, and from the message alone: naming the algorithm tells an attacker nothing.
  checkEncryptionAlgorithms(encrypted[0], exp.allow3des === true)

  const serializer = new XMLSerializer()
  const ciphertext = serializer.serializeToString(encrypted[0])
  return insideDecryptionWindow(() => {
    const plain = decrypt(ciphertext, exp.decryptionKey, exp.allow3des === true)
    refuseDoctype(plain)
    prescanXml(plain)
    const assertion = parseXml(plain).documentElement
    if (!isElement(assertion, NS.saml, 'Assertion')) throw new errors.SamlEncrypted()
    response.replaceChild(doc.importNode(assertion, true), encrypted[0])
    return { xml: serializer.serializeToString(doc), responseSigned: signatures.length === 1 }
  })
}

/**
 * Runs a step between decryption and the decrypted assertion's signature check, both included.
 * What fails there depends on the plaintext: answering with the failing step's own code would
 * tell an attacker who modifies the ciphertext whether its padding was good (Jager and
 * Somorovsky's attack on XML Encryption's CBC mode). Every failure becomes SAML_DECRYPTION; the
 * first step's code stays in the message, which the gateway logs and never shows.
 */
export function insideDecryptionWindow<T> (step: () => T): T {
  try {
    return step()
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code
    if (code === 'SAML_DECRYPTION') throw err
    throw new errors.SamlDecryption(typeof code === 'string' && code.startsWith('SAML_') ? code : 'error')
  }
}

/** One answer for every failure: a padding or key error must not tell an attacker which it was. */
function decrypt (encryptedAssertion: string, key: string, allow3des: boolean): string {
  let result: string | undefined
  let failed = false
  try {
    // The algorithms were checked before; the library's own list would refuse 3DES even when allowed.
    xmlenc.decrypt(encryptedAssertion, { key, disallowDecryptionWithInsecureAlgorithm: !allow3des, warnInsecureAlgorithm: false }, (err, plain) => {
      if (err !== null || typeof plain !== 'string') failed = true
      else result = plain
    })
  } catch {
    failed = true
  }
  if (failed || result === undefined) throw new errors.SamlEncrypted()
  return result
}
