// Verifies one enveloped ds:Signature with the configured IdP certificates only, and hands back
// the canonical XML it covers: the caller reads values from those bytes, never from the document
// it was given, which is what defeats signature wrapping and parser tricks.
import crypto, { type KeyObject } from 'node:crypto'
import { SignedXml, type SignatureAlgorithm } from 'xml-crypto'
import { errors } from '../errors.js'
import { NS, attr, childElements, firstChild, shortReason } from './xml.js'

const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1'
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'

/** Signature algorithm URI → node:crypto digest name. RSA-SHA1 only with allowSha1. */
const SIGNATURE_ALGORITHMS: Record<string, string> = {
  [RSA_SHA1]: 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512'
}
const DIGEST_ALGORITHMS = new Set([
  SHA1,
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512'
])
/** What xml-crypto implements. Canonical XML 1.1 is not among them. */
const CANONICALIZATIONS = new Set([
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments'
])

export interface EnvelopedSignatureCheck {
  /** The exact text that was parsed into `signed`'s document. */
  xml: string
  /** A ds:Signature child of `signed`. */
  signature: Element
  /** The element the gateway will consume: the Response root or its one Assertion. */
  signed: Element
  /** How many elements of the document carry this value in an ID, Id or id attribute. */
  idCount: (id: string) => number
  keys: readonly KeyObject[]
  allowSha1: boolean
}

const keyCache = new WeakMap<readonly string[], KeyObject[]>()

/** The public keys of the configured IdP certificates (PEM, or bare base64 DER), parsed once. */
export function idpKeys (certs: readonly string[]): KeyObject[] {
  let keys = keyCache.get(certs)
  if (keys == null) {
    keys = []
    for (const cert of certs) {
      const pem = cert.includes('-----BEGIN')
        ? cert
        : `-----BEGIN CERTIFICATE-----\n${cert.replace(/\s+/g, '')}\n-----END CERTIFICATE-----\n`
      try {
        keys.push(crypto.createPublicKey(pem))
      } catch {
        // Config validates certificates at boot; one unusable entry must not hide the others.
      }
    }
    keyCache.set(certs, keys)
  }
  if (keys.length === 0) throw new errors.SamlSignature('no usable IdP certificate is configured')
  return keys
}

/** Counts ID/Id/id attribute values over the document, built once on first use. */
export function idCounter (doc: Document): (id: string) => number {
  let counts: Map<string, number> | undefined
  const walk = (el: Element): void => {
    for (const name of ['ID', 'Id', 'id']) {
      const value = attr(el, name)
      if (value != null) counts!.set(value, (counts!.get(value) ?? 0) + 1)
    }
    for (let n = el.firstChild; n != null; n = n.nextSibling) if (n.nodeType === 1) walk(n as Element)
  }
  return (id) => {
    if (counts == null) {
      counts = new Map()
      walk(doc.documentElement)
    }
    return counts.get(id) ?? 0
  }
}

/** Checks the shape and algorithms of the signature, verifies it, and returns the signed canonical XML. */
export function verifyEnvelopedSignature (check: EnvelopedSignatureCheck): string {
  const { signature, signed } = check
  const signedInfos = childElements(signature, NS.ds, 'SignedInfo')
  if (signedInfos.length !== 1) throw new errors.SamlSignature('expected one SignedInfo')
  const signedInfo = signedInfos[0]

  const c14n = algorithmOf(signedInfo, 'CanonicalizationMethod')
  if (!CANONICALIZATIONS.has(c14n)) throw new errors.SamlWeakAlgorithm(c14n)
  const signatureAlgorithm = algorithmOf(signedInfo, 'SignatureMethod')
  const hashName = SIGNATURE_ALGORITHMS[signatureAlgorithm]
  if (hashName == null || (signatureAlgorithm === RSA_SHA1 && !check.allowSha1)) {
    throw new errors.SamlWeakAlgorithm(signatureAlgorithm)
  }

  // SAML profiles: exactly one Reference, to the ID of the element that encloses the signature.
  const references = childElements(signedInfo, NS.ds, 'Reference')
  if (references.length !== 1) throw new errors.SamlSignature('expected exactly one Reference')
  const reference = references[0]
  const expectedUri = expectedReferenceUri(check, attr(reference, 'URI'))
  if (attr(reference, 'URI') !== expectedUri) {
    throw new errors.SamlSignature('the Reference does not point at the element that carries the signature')
  }
  checkTransforms(reference)
  const digestAlgorithm = algorithmOf(reference, 'DigestMethod')
  if (!DIGEST_ALGORITHMS.has(digestAlgorithm) || (digestAlgorithm === SHA1 && !check.allowSha1)) {
    throw new errors.SamlWeakAlgorithm(digestAlgorithm)
  }

  return checkCryptography(check, { signatureAlgorithm, hashName, digestAlgorithm, uri: expectedUri })
}

function algorithmOf (parent: Element, localName: string): string {
  const el = firstChild(parent, NS.ds, localName)
  const value = el == null ? undefined : attr(el, 'Algorithm')
  if (value == null) throw new errors.SamlSignature(`no ${localName} algorithm`)
  return value
}

/** `#ID` of the signed element; `''` (whole document) is tolerated only for the document element. */
function expectedReferenceUri ({ signed, signature, idCount }: EnvelopedSignatureCheck, uri?: string): string {
  if (signature.parentNode !== signed) throw new errors.SamlSignature('the signature is not enveloped')
  const id = attr(signed, 'ID')
  if (id == null || id === '') throw new errors.SamlSignature('the signed element has no ID')
  if (idCount(id) !== 1) throw new errors.SamlSignature('the signed ID occurs more than once')
  if (uri === '' && signed.ownerDocument?.documentElement === signed) return ''
  return `#${id}`
}

/** Enveloped-signature and one canonicalization, as SAML signs; nothing that selects or rewrites. */
function checkTransforms (reference: Element): void {
  const transforms = firstChild(reference, NS.ds, 'Transforms')
  if (transforms == null) return
  const list = childElements(transforms, NS.ds, 'Transform').map((t) => attr(t, 'Algorithm') ?? '')
  for (const algorithm of list) {
    if (algorithm !== ENVELOPED && !CANONICALIZATIONS.has(algorithm)) throw new errors.SamlWeakAlgorithm(algorithm)
  }
  if (list.length > 2 || list.filter((a) => a === ENVELOPED).length > 1) {
    throw new errors.SamlSignature('unexpected Transforms')
  }
}

interface Algorithms { signatureAlgorithm: string, hashName: string, digestAlgorithm: string, uri: string }

function checkCryptography (check: EnvelopedSignatureCheck, { signatureAlgorithm: algorithm, hashName, digestAlgorithm, uri }: Algorithms): string {
  const keys = check.keys
  // Only the configured keys: KeyInfo is never read, and no other algorithm is registered.
  const verifier = class implements Pick<SignatureAlgorithm, 'getAlgorithmName'> {
    getAlgorithmName (): string { return algorithm }
    getSignature (): string { throw new Error('verification only') }
    verifySignature (material: string, _key: unknown, signatureValue: string): boolean {
      const value = Buffer.from(signatureValue, 'base64')
      const data = Buffer.from(material, 'utf8')
      return keys.some((key) => crypto.verify(hashName, data, key, value))
    }
  }
  const sig = new SignedXml({ publicCert: 'configured-keys-only', getCertFromKeyInfo: () => null })
  sig.idAttributes = ['ID']
  sig.SignatureAlgorithms = { [algorithm]: verifier as unknown as new () => SignatureAlgorithm }
  sig.HashAlgorithms = { [digestAlgorithm]: sig.HashAlgorithms[digestAlgorithm] }
  let valid: boolean
  try {
    sig.loadSignature(check.signature)
    valid = sig.checkSignature(check.xml)
  } catch (err) {
    const message = String((err as Error).message)
    throw new errors.SamlSignature(message.startsWith('invalid signature: the signature value')
      ? 'the signature does not verify with any configured IdP certificate'
      : shortReason(message))
  }
  if (!valid) {
    const reason = sig.getReferences()[0]?.validationError?.message ?? ''
    throw new errors.SamlSignature(reason.includes('calculated digest') || reason === ''
      ? 'the signed content was changed (digest mismatch)'
      : shortReason(reason))
  }
  // Read back what was verified: the Reference of the verified SignedInfo, and its bytes.
  const references = sig.getReferences()
  const signedXml = references.length === 1 ? references[0].signedReference : undefined
  if (signedXml == null || references[0].uri !== uri) {
    throw new errors.SamlSignature('the verified Reference is not the expected one')
  }
  return signedXml
}
