// Verifies one enveloped ds:Signature with the configured IdP certificates only, and hands back
// the canonical XML it covers: the caller reads values from those bytes, never from the document
// it was given, which is what defeats signature wrapping and parser tricks.
import crypto, { type KeyObject } from 'node:crypto'
import { SignedXml } from 'xml-crypto'
import { findAncestorNsForElement, findChildren } from 'xml-crypto/lib/utils.js'
import { DOMParser } from '@xmldom/xmldom'
import { errors } from '../../errors.js'
import { certificatePem } from '../certificate.js'
import { NS, attr, childElements, firstChild, shortReason } from './xml.js'

export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1'
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'

/** Signature algorithm URI → node:crypto digest name. RSA-SHA1 only with allowSha1. */
export const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
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
      const pem = cert.includes('-----BEGIN') ? cert : certificatePem(cert)
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
  const { signature } = check
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

/** node:crypto names of the digest algorithms of DIGEST_ALGORITHMS. */
const DIGEST_HASHES: Record<string, string> = {
  [SHA1]: 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512'
}

/**
 * The parts of xml-crypto's SignedXml used here that its typings keep private. package.json pins
 * xml-crypto's exact version; test/sp/read/xml-crypto-internals.test.ts fails when these change.
 */
interface SignedXmlInternals {
  canonicalizationAlgorithm?: string
  signatureAlgorithm?: string
  references: unknown[]
  loadReference: (reference: Element) => void
  canonicalize: (transforms: readonly string[], node: Node, options: Record<string, unknown>, flags: { discardComments: boolean }) => string
}

/** Strict base64 (whitespace between characters allowed, as in xs:base64Binary); undefined otherwise. */
function strictBase64 (text: string | null | undefined): Buffer | undefined {
  const compact = (text ?? '').replace(/[ \t\r\n]+/g, '')
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) return undefined
  const bytes = Buffer.from(compact, 'base64')
  return bytes.toString('base64') === compact ? bytes : undefined
}

/**
 * What xml-crypto's checkSignature refused when it re-parsed the document: another element whose
 * ID attribute (in any namespace) carries the signed ID, or another ds:Signature carrying the same
 * SignatureValue (a copy that the enveloped-signature transform could be pointed at).
 */
function checkDocumentUniqueness (check: EnvelopedSignatureCheck, id: string | undefined, enveloped: boolean): void {
  const root = check.signed.ownerDocument?.documentElement
  if (root == null) throw new errors.SamlSignature('the signed element is not in a document')
  const ownValue = enveloped ? findChildren(check.signature, 'SignatureValue')[0]?.textContent : undefined
  let idElements = 0
  let sameValueSignatures = 0
  const walk = (el: Element): void => {
    if (id != null) {
      const attributes = el.attributes
      for (let i = 0; i < attributes.length; i++) {
        const a = attributes[i]
        if (a.localName === 'ID' && a.value === id) { idElements++; break }
      }
    }
    if (ownValue != null && el.localName === 'Signature' && el.namespaceURI === NS.ds &&
        findChildren(el, 'SignatureValue')[0]?.textContent === ownValue) sameValueSignatures++
    for (let n = el.firstChild; n != null; n = n.nextSibling) if (n.nodeType === 1) walk(n as Element)
  }
  walk(root)
  if (id != null && idElements !== 1) {
    throw new errors.SamlSignature('Cannot validate a document which contains multiple elements with the same value for the ID attribute')
  }
  if (sameValueSignatures > 1) {
    throw new errors.SamlSignature('Cannot validate a document which contains multiple Signature elements with the same SignatureValue')
  }
}

/**
 * Verifies the SignatureValue over the canonical SignedInfo with the configured keys, then digests
 * the element the caller holds as the verified Reference says, without re-parsing the document or
 * looking anything up by XPath: the caller has already established that the one Reference points
 * at `signed`, whose ID occurs once. Returns the canonical XML that was digested.
 */
function checkCryptography (check: EnvelopedSignatureCheck, algorithms: Algorithms): string {
  const { sig, canonSignedInfo } = verifySignedInfo(check, algorithms)
  return digestSignedElement(check, sig, canonSignedInfo, algorithms)
}

/** Stage A: SignedInfo canonicalized as it declares; stage B: its SignatureValue against the configured keys only. */
function verifySignedInfo (check: EnvelopedSignatureCheck, { signatureAlgorithm, hashName }: Algorithms): { sig: SignedXml, canonSignedInfo: string } {
  const { signature } = check
  const sig = new SignedXml({ publicCert: 'configured-keys-only', getCertFromKeyInfo: () => null })
  sig.idAttributes = ['ID']
  const internals = sig as unknown as SignedXmlInternals
  let canonSignedInfo: string
  try {
    sig.loadSignature(signature)
    const signedInfo = childElements(signature, NS.ds, 'SignedInfo')[0]
    const c14n = algorithmOf(signedInfo, 'CanonicalizationMethod')
    // What xml-crypto picked up must be what was checked: SignedInfo's own declarations.
    if (internals.canonicalizationAlgorithm !== c14n || internals.signatureAlgorithm !== signatureAlgorithm) {
      throw new errors.SamlSignature('the SignedInfo algorithms are ambiguous')
    }
    // Its declared canonicalization (exclusive c14n reads CanonicalizationMethod/InclusiveNamespaces
    // itself), in the context of the document.
    canonSignedInfo = sig.getCanonXml([c14n as never], signedInfo, { ancestorNamespaces: findAncestorNsForElement(signedInfo) })
  } catch (err) {
    if (err instanceof errors.SamlSignature) throw err
    throw new errors.SamlSignature(shortReason(String((err as Error).message)))
  }

  // Stage B first: only the configured keys, only the declared algorithm; KeyInfo is never read.
  const values = childElements(signature, NS.ds, 'SignatureValue')
  const signatureValue = values.length === 1 ? strictBase64(values[0].textContent) : undefined
  const data = Buffer.from(canonSignedInfo, 'utf8')
  if (signatureValue == null || !check.keys.some((key) => {
    try { return crypto.verify(hashName, data, key, signatureValue) } catch { return false }
  })) {
    throw new errors.SamlSignature('the signature does not verify with any configured IdP certificate')
  }
  return { sig, canonSignedInfo }
}

/** The Reference read back from the verified bytes only; the element digested as it says and compared in constant time. */
function digestSignedElement (check: EnvelopedSignatureCheck, sig: SignedXml, canonSignedInfo: string, { digestAlgorithm, uri }: Algorithms): string {
  const internals = sig as unknown as SignedXmlInternals
  let canonXml: string
  let digestValue: Buffer | undefined
  try {
    const verified = new DOMParser().parseFromString(canonSignedInfo, 'text/xml').documentElement
    const refs = verified == null ? [] : findChildren(verified as unknown as Node, 'Reference')
    if (refs.length !== 1 || refs[0].namespaceURI !== NS.ds) throw new errors.SamlSignature('the verified Reference is not the expected one')
    internals.references = []
    internals.loadReference(refs[0])
    const ref = sig.getReferences()[0]
    if (ref == null || internals.references.length !== 1 || ref.uri !== uri || ref.digestAlgorithm !== digestAlgorithm) {
      throw new errors.SamlSignature('the verified Reference is not the expected one')
    }
    const transforms = [...ref.transforms] as string[]
    if (transforms.length > 3 || transforms.some((t) => t !== ENVELOPED && !CANONICALIZATIONS.has(t)) ||
        transforms.filter((t) => t === ENVELOPED).length > 1) {
      throw new errors.SamlSignature('unexpected Transforms')
    }
    // As xml-crypto looked the ID up: no quotes, and one element in the document carries it.
    const id = uri === '' ? undefined : uri.slice(1)
    if (id?.includes("'") === true) throw new errors.SamlSignature('Cannot validate a uri with quotes inside it')
    checkDocumentUniqueness(check, id, transforms.includes(ENVELOPED))
    digestValue = strictBase64(typeof ref.digestValue === 'string' ? ref.digestValue : undefined)
    // Same-document reference: comments are discarded before the transforms; the enveloped-signature
    // transform removes exactly the loaded ds:Signature (found by its path inside `signed`).
    canonXml = internals.canonicalize(transforms, check.signed, {
      inclusiveNamespacesPrefixList: ref.inclusiveNamespacesPrefixList,
      // As xml-crypto: a whole-document reference has no ancestors to take namespaces from.
      ancestorNamespaces: uri === '' ? [] : findAncestorNsForElement(check.signed)
    }, { discardComments: true })
  } catch (err) {
    if (err instanceof errors.SamlSignature) throw err
    throw new errors.SamlSignature(shortReason(String((err as Error).message)))
  }
  const digest = crypto.createHash(DIGEST_HASHES[digestAlgorithm]).update(canonXml, 'utf8').digest()
  if (digestValue == null || digestValue.length !== digest.length || !crypto.timingSafeEqual(digest, digestValue)) {
    throw new errors.SamlSignature('the signed content was changed (digest mismatch)')
  }
  return canonXml
}
