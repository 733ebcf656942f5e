// The attack generator: the gateway attacking itself with VALID signatures from its own test IdP.
//
// Each attack starts from a document the test IdP really signed (fixtures/idp.key) for the
// attacker's own account, and edits it the way a published attack does: signature wrapping
// (XSW1-8), comments and CDATA in NameID and the email claim, a second or hidden Assertion,
// signatures moved, stripped or re-signed, DOCTYPEs, namespace tricks, duplicate IDs, and a
// LogoutRequest wrapped the same ways. `signatureStatus` says, with plain xml-crypto, whether the
// IdP's signature still verifies afterwards: for the wrapping attacks it must (the attack is real).
// SECURITY.md ("The attack generator") documents how to use it; test/attacks/attacks.test.ts runs
// every attack against the ACS and the SLO endpoint and keeps the table in SECURITY.md.
//
//   _xsw.ts           XSW1-8 (and wrapRoot for any signed root)
//   _login-attacks.ts the attacks on the ACS        _logout-attacks.ts  the attacks on the SLO endpoint
//   _attack.ts        what an attack is, who it aims at, small XML builders
//   _source.ts        where genuine documents come from (the test IdP), and signing
//   _dom.ts           DOM surgery with xmldom, as the gateway parses
import crypto from 'node:crypto'
import { SignedXml } from 'xml-crypto'
import { NS, parse } from './_dom.js'
import { testIdp, type AttackSource } from './_source.js'
import { loginAttacks } from './_login-attacks.js'
import { logoutAttacks } from './_logout-attacks.js'
import { parserAttacks } from './_parser-attacks.js'
import type { Attack } from './_attack.js'

export { xsw, wrapRoot, XSW_KINDS, type XswKind } from './_xsw.js'
export { testIdp, sign, type AttackSource } from './_source.js'
export { ATTACKER, LOOKALIKE, VICTIM, type Attack, type Family } from './_attack.js'
export { loginAttacks } from './_login-attacks.js'
export { logoutAttacks } from './_logout-attacks.js'

/** Every attack, login responses first, then logout messages. */
export function catalogue (src: AttackSource = testIdp): Attack[] {
  return [...loginAttacks(src), ...logoutAttacks(src), ...parserAttacks()]
}

export type SignatureStatus = 'IdP key ✓' | 'KeyInfo key ✓' | 'HMAC keyed by the IdP certificate ✓' | '✗' | 'none'

/**
 * Plain xml-crypto on the whole document, as a careless SP would run it: the IdP certificate
 * first, then whatever KeyInfo offers, then HMAC keyed by the (public) IdP certificate.
 */
export function signatureStatus (xml: string, idpCert: string = testIdp.idpCert): SignatureStatus {
  let signatures: Element[]
  try {
    signatures = Array.from(parse(xml, { quiet: true }).getElementsByTagNameNS(NS.ds, 'Signature'))
  } catch {
    return '✗'
  }
  if (signatures.length === 0) return 'none'
  const verifiers: Array<[SignatureStatus, () => SignedXml]> = [
    ['IdP key ✓', () => new SignedXml({ publicCert: idpCert })],
    ['KeyInfo key ✓', () => new SignedXml({ getCertFromKeyInfo: SignedXml.getCertFromKeyInfo })],
    ['HMAC keyed by the IdP certificate ✓', () => { const s = new SignedXml({ publicCert: idpCert }); s.enableHMAC(); return s }]
  ]
  // xml-crypto parses with xmldom's default handler, which prints every DOCTYPE entity it skips.
  const { error, warn } = console
  console.error = console.warn = () => {}
  try {
    for (const [status, verifier] of verifiers) {
      for (const signature of signatures) {
        try {
          const sig = verifier()
          sig.loadSignature(signature)
          if (sig.checkSignature(xml)) return status
        } catch {}
      }
    }
    return '✗'
  } finally {
    Object.assign(console, { error, warn })
  }
}

const REDIRECT_HASHES: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'sha1'
}

/** The Redirect binding's query signature (saml-bindings 3.4.4.1), each parameter's first value. */
export function querySignatureStatus (query: string, idpCert: string = testIdp.idpCert): SignatureStatus {
  const params = new Map<string, string>()
  for (const part of query.split('&')) {
    const [name, value = ''] = part.split('=')
    if (!params.has(name)) params.set(name, value)
  }
  const [message, sigAlg, signature] = [params.get('SAMLRequest'), params.get('SigAlg'), params.get('Signature')]
  if (signature === undefined || sigAlg === undefined || message === undefined) return 'none'
  const relayState = params.get('RelayState')
  const octets = `SAMLRequest=${message}${relayState !== undefined ? `&RelayState=${relayState}` : ''}&SigAlg=${sigAlg}`
  const hash = REDIRECT_HASHES[decodeURIComponent(sigAlg)]
  const verifies = hash !== undefined &&
    crypto.verify(hash, Buffer.from(octets), idpCert, Buffer.from(decodeURIComponent(signature), 'base64'))
  return verifies ? 'IdP key ✓' : '✗'
}
