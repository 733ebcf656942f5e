// What an EncryptedAssertion may be encrypted with. Checked before any decryption, over every
// EncryptionMethod in it (content and key transport), so that a refusal names the algorithm
// instead of failing somewhere inside the decryption.
//
// Accepted: AES-128/256-GCM and AES-128/256-CBC for the content; RSA-OAEP (MGF1, SHA-1 digest) for
// the key. 3DES-CBC only with GATEWAY_ALLOW_3DES=true (pysaml2 can encrypt with nothing else).
// RSA PKCS#1 v1.5 key transport is never accepted: it is open to padding-oracle attacks.
import { errors } from '../../errors.js'
import { attr } from './xml.js'

const XENC = 'http://www.w3.org/2001/04/xmlenc#'
const XENC11 = 'http://www.w3.org/2009/xmlenc11#'
const DSIG = 'http://www.w3.org/2000/09/xmldsig#'

export const TRIPLE_DES = `${XENC}tripledes-cbc`
export const RSA_1_5 = `${XENC}rsa-1_5`

/** Content encryption: what the gateway decrypts. */
export const ACCEPTED_CONTENT_ALGORITHMS: readonly string[] = [`${XENC11}aes128-gcm`, `${XENC11}aes256-gcm`, `${XENC}aes128-cbc`, `${XENC}aes256-cbc`]
/** Key transport: what the gateway unwraps the content key with. */
export const ACCEPTED_KEY_ALGORITHMS: readonly string[] = [`${XENC}rsa-oaep-mgf1p`]

/** Throws SAML_WEAK_ALGORITHM naming the first algorithm in `encrypted` that is not accepted. */
export function checkEncryptionAlgorithms (encrypted: Element, allow3des: boolean): void {
  const methods = Array.from(encrypted.getElementsByTagNameNS(XENC, 'EncryptionMethod'))
  if (methods.length === 0) throw new errors.SamlWeakAlgorithm('the EncryptedAssertion names no EncryptionMethod')
  for (const method of methods) {
    const algorithm = attr(method, 'Algorithm') ?? ''
    const parent = method.parentNode as Element | null
    const isKey = parent?.localName === 'EncryptedKey'
    if (algorithm === TRIPLE_DES && !isKey) {
      if (allow3des) continue
      throw new errors.SamlWeakAlgorithm(`3DES-CBC (${algorithm}) is refused; set GATEWAY_ALLOW_3DES=true only if the IdP can encrypt with nothing better`)
    }
    if (algorithm === RSA_1_5) throw new errors.SamlWeakAlgorithm(`RSA PKCS#1 v1.5 key transport (${algorithm}) is refused: it is open to padding-oracle attacks; have the IdP use RSA-OAEP`)
    const accepted = isKey ? ACCEPTED_KEY_ALGORITHMS : ACCEPTED_CONTENT_ALGORITHMS
    if (!accepted.includes(algorithm)) throw new errors.SamlWeakAlgorithm(`unsupported ${isKey ? 'key transport' : 'content encryption'} algorithm ${algorithm === '' ? '(none)' : algorithm}`)
    // RSA-OAEP is decrypted with a SHA-1 digest: another DigestMethod would only fail later.
    const digest = Array.from(method.getElementsByTagNameNS(DSIG, 'DigestMethod')).map((d) => attr(d, 'Algorithm'))
    if (isKey && digest.some((d) => d !== `${DSIG}sha1`)) throw new errors.SamlWeakAlgorithm(`unsupported RSA-OAEP digest ${digest.join(', ')}`)
  }
}
