// Where the attack generator gets genuine documents: the test IdP of test/helpers (fixtures/idp.key)
// and, for re-signing, the attacker's key (fixtures/attacker.key). Signing here takes the options
// the helpers do not offer (HMAC, a SHA-1 digest under an RSA-SHA256 signature, the root of a
// LogoutRequest), the way Entra signs otherwise: exclusive c14n, after the Issuer.
import crypto from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import { SignedXml } from 'xml-crypto'
import { ATTACKER_CERT, ATTACKER_KEY, IDP_CERT, IDP_KEY, buildResponseXml, entraClaims, esc } from '../helpers/idp.js'
import { lowerCaseEncode, logoutRequestXml } from '../helpers/idp-logout.js'

export interface AttackSource {
  /** A genuine IdP-initiated login response for `nameId` (the email claim too), signed by the IdP. */
  response (o: { nameId: string, sign?: 'assertion' | 'response', algorithm?: 'sha256' | 'sha1' }): string
  /** A genuine LogoutRequest for `nameId`, XML-signed by the IdP unless `signed` is false. */
  logoutRequest (o: { nameId: string, algorithm?: 'sha256' | 'sha1', issueInstant?: string, signed?: boolean }): string
  /** The Redirect-binding query of `xml`, signed over the query by the IdP (or as told). */
  logoutRedirect (xml: string, o?: { signer?: 'idp' | 'attacker' | 'none', algorithm?: 'sha256' | 'sha1' }): string
  /** The IdP's signing certificate (PEM): public, so an attacker has it too. */
  idpCert: string
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'
const RSA = { sha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', sha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' }
const DIGEST = { sha256: 'http://www.w3.org/2001/04/xmlenc#sha256', sha1: 'http://www.w3.org/2000/09/xmldsig#sha1' }
const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'

export interface SignOptions {
  signer?: 'idp' | 'attacker'
  algorithm?: 'sha256' | 'sha1'
  /** The digest, when it differs from the signature's hash. */
  digest?: 'sha256' | 'sha1'
  /** The signer's certificate in KeyInfo. */
  keyInfo?: boolean
  /** HMAC-SHA1 keyed by this text instead of an RSA key (key confusion). */
  hmacKey?: string
}

/** An enveloped signature over the first Assertion or over the root, placed after its Issuer. */
export function sign (xml: string, target: 'assertion' | 'root', o: SignOptions = {}): string {
  const algorithm = o.algorithm ?? 'sha256'
  const attacker = o.signer === 'attacker'
  const sig = new SignedXml({
    privateKey: o.hmacKey ?? (attacker ? ATTACKER_KEY : IDP_KEY),
    publicCert: o.keyInfo === true ? (attacker ? ATTACKER_CERT : IDP_CERT) : undefined,
    signatureAlgorithm: o.hmacKey !== undefined ? HMAC_SHA1 : RSA[algorithm],
    canonicalizationAlgorithm: EXC_C14N
  })
  if (o.hmacKey !== undefined) sig.enableHMAC()
  const element = target === 'assertion' ? "//*[local-name(.)='Assertion']" : '/*'
  sig.addReference({ xpath: element, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: DIGEST[o.digest ?? algorithm] })
  sig.computeSignature(xml, { location: { reference: `${element}/*[local-name(.)='Issuer']`, action: 'after' } })
  return sig.getSignedXml()
}

export const testIdp: AttackSource = {
  response ({ nameId, sign: what = 'assertion', algorithm = 'sha256' }) {
    return buildResponseXml({ inResponseTo: null, nameIdXml: esc(nameId), attributes: entraClaims(nameId), sign: what, algorithm })
  },
  logoutRequest ({ nameId, algorithm = 'sha256', issueInstant, signed = true }) {
    const xml = logoutRequestXml({ nameId, issueInstant })
    return signed ? sign(xml, 'root', { algorithm }) : xml
  },
  logoutRedirect (xml, { signer = 'idp', algorithm = 'sha256' } = {}) {
    let query = `SAMLRequest=${lowerCaseEncode(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`
    if (signer === 'none') return query
    query += `&SigAlg=${lowerCaseEncode(RSA[algorithm])}`
    const signature = crypto.sign(algorithm, Buffer.from(query, 'utf8'), signer === 'attacker' ? ATTACKER_KEY : IDP_KEY)
    return `${query}&Signature=${lowerCaseEncode(signature.toString('base64'))}`
  },
  idpCert: IDP_CERT
}
