// Encrypted assertions (Entra "token encryption", or any IdP that encrypts to our GATEWAY_SP_CERT):
// the EncryptedAssertion is decrypted with GATEWAY_SP_KEY and put back in its place, and the
// result goes through every check again, as if the IdP had sent it in the clear.
//
// The assertion must carry its own signature (Entra signs, then encrypts). A Response signature
// covers the ciphertext, so it is verified first, on the document as received, then removed: the
// values the gateway uses come from the assertion's signature only.
import { createRequire } from 'node:module'
import { XMLSerializer } from '@xmldom/xmldom'
import { errors } from '../../errors.js'
import type { ResponseExpectations } from '../types.js'
import { idCounter, idpKeys, verifyEnvelopedSignature } from './signature.js'
import { NS, childElements, isElement, parseXml, refuseDoctype } from './xml.js'

const require = createRequire(import.meta.url)
const xmlenc = require('@authenio/xml-encryption') as {
  decrypt: (xml: string, options: { key: string, disallowDecryptionWithInsecureAlgorithm: boolean, warnInsecureAlgorithm: boolean }, callback: (err: Error | null, result?: string) => void) => void
}

/** The response XML with its one EncryptedAssertion replaced by the decrypted Assertion. */
export function decryptResponse (xml: string, doc: Document, response: Element, exp: ResponseExpectations & { decryptionKey: string }): string {
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

  const serializer = new XMLSerializer()
  const plain = decrypt(serializer.serializeToString(encrypted[0]), exp.decryptionKey)
  refuseDoctype(plain)
  const assertion = parseXml(plain).documentElement
  if (!isElement(assertion, NS.saml, 'Assertion')) throw new errors.SamlEncrypted()
  response.replaceChild(doc.importNode(assertion, true), encrypted[0])
  return serializer.serializeToString(doc)
}

/** One answer for every failure: a padding or key error must not tell an attacker which it was. */
function decrypt (encryptedAssertion: string, key: string): string {
  let result: string | undefined
  let failed = false
  try {
    xmlenc.decrypt(encryptedAssertion, { key, disallowDecryptionWithInsecureAlgorithm: true, warnInsecureAlgorithm: false }, (err, plain) => {
      if (err !== null || typeof plain !== 'string') failed = true
      else result = plain
    })
  } catch {
    failed = true
  }
  if (failed || result === undefined) throw new errors.SamlEncrypted()
  return result
}
