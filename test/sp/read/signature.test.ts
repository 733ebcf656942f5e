// verifyEnvelopedSignature on its own: it gives back the same canonical bytes xml-crypto's
// checkSignature covers, refuses what is not strict base64, and removes only its own ds:Signature.
import crypto from 'node:crypto'
import t, { type Test } from 'tap'
import { SignedXml } from 'xml-crypto'
import { findAncestorNsForElement } from 'xml-crypto/lib/utils.js'
import { idCounter, idpKeys, verifyEnvelopedSignature } from '../../../src/sp/read/signature.js'
import { NS, parseXml } from '../../../src/sp/read/xml.js'
import { ATTACKER_CERT, IDP_CERT, IDP_KEY, buildResponseXml, type ResponseOptions } from '../../helpers/idp.js'

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'

function signatureOf (el: Element): Element {
  for (let n = el.firstChild; n != null; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === 'Signature' && (n as Element).namespaceURI === NS.ds) return n as Element
  }
  throw new Error('no Signature child')
}

function assertionOf (doc: Document): Element {
  return doc.getElementsByTagNameNS(NS.saml, 'Assertion')[0] as Element
}

function verify (xml: string, target: 'assertion' | 'response', certs = [IDP_CERT]): string {
  const doc = parseXml(xml)
  const signed = target === 'assertion' ? assertionOf(doc) : doc.documentElement
  return verifyEnvelopedSignature({
    xml, signature: signatureOf(signed), signed, idCount: idCounter(doc), keys: idpKeys(certs), allowSha1: true
  })
}

/** What xml-crypto 6's checkSignature reports as signed for the same signature. */
function xmlCryptoSigned (xml: string, target: 'assertion' | 'response'): string {
  const doc = parseXml(xml)
  const signed = target === 'assertion' ? assertionOf(doc) : doc.documentElement
  const sig = new SignedXml({ publicCert: IDP_CERT, getCertFromKeyInfo: () => null })
  sig.idAttributes = ['ID']
  sig.loadSignature(signatureOf(signed))
  if (!sig.checkSignature(xml)) throw new Error('xml-crypto refused it')
  return sig.getSignedReferences()[0]
}

/** Signs the (assertion's only) SignedInfo again, after the caller edited it, with the IdP key. */
function resign (xml: string): string {
  const doc = parseXml(xml)
  const signedInfo = signatureOf(assertionOf(doc)).getElementsByTagNameNS(NS.ds, 'SignedInfo')[0] as Element
  const canon = new SignedXml().getCanonXml([EXC_C14N], signedInfo, { ancestorNamespaces: findAncestorNsForElement(signedInfo) })
  const value = crypto.sign('sha256', Buffer.from(canon, 'utf8'), IDP_KEY).toString('base64')
  return xml.replace(/<SignatureValue>[^<]*<\/SignatureValue>/, `<SignatureValue>${value}</SignatureValue>`)
}

const editDigest = (xml: string, edit: (value: string) => string): string =>
  xml.replace(/<DigestValue>([^<]*)<\/DigestValue>/, (_m, v: string) => `<DigestValue>${edit(v)}</DigestValue>`)

const rejects = (t: Test, fn: () => unknown, what: string): void => {
  t.throws(fn, { code: 'SAML_SIGNATURE' }, what)
}

t.test('the same canonical bytes as xml-crypto checkSignature, for every shape', async (t) => {
  const shapes: Array<[string, ResponseOptions, 'assertion' | 'response']> = [
    ['assertion signed', {}, 'assertion'],
    ['response signed', { sign: 'response' }, 'response'],
    ['both signed: the assertion', { sign: 'both' }, 'assertion'],
    ['both signed: the response', { sign: 'both' }, 'response'],
    ['sha1', { algorithm: 'sha1' }, 'assertion'],
    ['no KeyInfo', { keyInfo: false }, 'assertion'],
    ['a comment in NameID', { nameIdXml: 'alice@contoso.com<!-- x -->.evil' }, 'assertion']
  ]
  for (const [name, o, target] of shapes) {
    const xml = buildResponseXml(o)
    const ours = verify(xml, target)
    t.equal(ours, xmlCryptoSigned(xml, target), name)
    const doc = parseXml(xml)
    const own = signatureOf(target === 'assertion' ? assertionOf(doc) : doc.documentElement)
    const ownValue = own.getElementsByTagNameNS(NS.ds, 'SignatureValue')[0].textContent ?? ''
    t.notOk(ours.includes(ownValue), `${name}: the enveloped signature is removed`)
  }
})

t.test('signature and digest failures', async (t) => {
  const xml = buildResponseXml()
  rejects(t, () => verify(xml, 'assertion', [ATTACKER_CERT]), 'another key')
  rejects(t, () => verify(buildResponseXml({ signer: 'attacker' }), 'assertion'), 'signed by another key')
  rejects(t, () => verify(xml.replace('alice@contoso.com', 'mallory@contoso.com'), 'assertion'), 'changed content')
  rejects(t, () => verify(resign(editDigest(xml, (v) => (v[0] === 'A' ? 'B' : 'A') + v.slice(1))), 'assertion'), 'a wrong digest, validly signed')
  t.ok(verify(xml.replace('alice@contoso.com', 'alice@contoso.com<!-- c -->'), 'assertion'), 'a comment added later is not signed content')
})

t.test('DigestValue and SignatureValue must be strict base64', async (t) => {
  const xml = buildResponseXml()
  t.ok(verify(resign(editDigest(xml, (v) => `\n  ${v.slice(0, 20)}\n  ${v.slice(20)}\n`)), 'assertion'), 'whitespace in DigestValue is fine')
  t.ok(verify(xml.replace(/<SignatureValue>([^<]*)<\/SignatureValue>/, (_m, v: string) =>
    `<SignatureValue>${v.replace(/(.{64})/g, '$1\r\n  ')}</SignatureValue>`), 'assertion'), 'line breaks in SignatureValue are fine')
  // Lenient decoders read these as the right bytes; a strict one does not.
  const lastChar = (v: string): string => {
    const i = v.indexOf('=') - 1
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    return v.slice(0, i) + alphabet[alphabet.indexOf(v[i]) ^ 1] + v.slice(i + 1)
  }
  rejects(t, () => verify(resign(editDigest(xml, lastChar)), 'assertion'), 'DigestValue with non-zero padding bits')
  rejects(t, () => verify(resign(editDigest(xml, (v) => `${v.slice(0, 8)}!${v.slice(8)}`)), 'assertion'), 'DigestValue with a stray character')
  rejects(t, () => verify(resign(editDigest(xml, (v) => v.replace(/=+$/, ''))), 'assertion'), 'DigestValue without its padding')
  rejects(t, () => verify(xml.replace(/<SignatureValue>([^<]*)<\/SignatureValue>/, (_m, v: string) =>
    `<SignatureValue>${v.slice(0, 10)}*${v.slice(10)}</SignatureValue>`), 'assertion'), 'SignatureValue with a stray character')
  rejects(t, () => verify(xml.replace(/<SignatureValue>[^<]*<\/SignatureValue>/, '<SignatureValue></SignatureValue>'), 'assertion'), 'empty SignatureValue')
})

t.test('the enveloped-signature transform removes only this signature', async (t) => {
  // Both signed: the Response's digest covers the Assertion's own Signature, so taking it out breaks it.
  const xml = buildResponseXml({ sign: 'both' })
  t.ok(verify(xml, 'response'))
  const withoutInner = xml.replace(/(<Assertion [\s\S]*?)<Signature [\s\S]*?<\/Signature>/, '$1')
  t.not(withoutInner, xml)
  rejects(t, () => verify(withoutInner, 'response'), 'the inner signature is signed content')
})
