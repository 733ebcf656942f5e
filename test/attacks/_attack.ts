// What an attack is, who it is aimed at, and the small XML builders the catalogue is made of.
import {
  NS, assertionOf, child, children, createIn, parse, serialize, signatureOf, unsignedCopy
} from './_dom.js'
import { EVIL_ASSERTION_ID } from './_xsw.js'

/** Whose session the attacker wants (signed in before every attack). */
export const VICTIM = 'alice@contoso.com'
/** The attacker's own account at the IdP: the genuine documents are issued to it. */
export const ATTACKER = 'mallory@contoso.com'
/** An account the attacker registered whose name begins with the victim's (comment truncation). */
export const LOOKALIKE = 'alice@contoso.com.evil.com'

export type Family = 'XSW' | 'comment/CDATA' | 'extra assertion' | 'hidden assertion' | 'signature' | 'DOCTYPE' |
  'namespace' | 'duplicate ID' | 'logout' | 'logout (Redirect)' | 'parser'

export interface Attack {
  id: string
  family: Family
  title: string
  /** The document: posted to the ACS, and to the SLO endpoint as SAMLRequest/SAMLResponse. */
  xml: string
  /** Its octets when they are not the UTF-8 of `xml` (another encoding). */
  octets?: Buffer
  /** The SLO endpoint's Redirect-binding query; without it, `xml` deflated and unsigned. */
  redirectQuery?: string
  /**
   * The IdP's genuine signature still verifies under plain xml-crypto (for a Redirect-binding
   * attack: the query signature, as a verifier that reads each parameter's first value checks it).
   */
  keepsGenuineSignature: boolean
  /** Gateway settings under which the attack means something (XSW1/2: a Response-only signature trusted). */
  env?: Record<string, string>
  /** A document that stays valid (comments, CDATA): the identity it must be read as, in full. */
  readAs?: string
}

/** An attack that keeps the genuine signature unless it says otherwise. */
export const attack = (a: Omit<Attack, 'keepsGenuineSignature'> & { keepsGenuineSignature?: boolean }): Attack =>
  ({ keepsGenuineSignature: true, ...a })

/** The first saml element of that name under `root`. */
export const first = (root: Element, localName: string): Element => root.getElementsByTagNameNS(NS.saml, localName)[0]

/** An unsigned copy of `signed`, edited by `tamper`, with an ID of its own. */
export function evilCopy (signed: Element, tamper: (el: Element) => void, id = EVIL_ASSERTION_ID): Element {
  const copy = unsignedCopy(signed)
  tamper(copy)
  copy.setAttribute('ID', id)
  return copy
}

/** The root's samlp:Extensions (created where the schema puts it: after Issuer and Signature). */
export function extensionsOf (doc: Document, root: Element): Element {
  const existing = children(root, NS.samlp, 'Extensions')[0]
  if (existing !== undefined) return existing
  const extensions = createIn(doc, NS.samlp, 'samlp:Extensions')
  const after = children(root, NS.ds, 'Signature')[0] ?? child(root, NS.saml, 'Issuer')
  after.parentNode!.insertBefore(extensions, after.nextSibling)
  return extensions
}

/** An element of no SAML meaning that carries `value` in an ID-like attribute. */
export function decoy (doc: Document, attribute: 'ID' | 'id' | 'x:ID', value: string): Element {
  const el = doc.createElementNS('urn:example:decoy', 'x:Decoy')
  if (attribute === 'x:ID') el.setAttributeNS('urn:example:decoy', 'x:ID', value)
  else el.setAttribute(attribute, value)
  return el
}

/** A copy of `el` and its subtree with every element of namespace `from` moved to `to`. */
export function inNamespace (el: Element, from: string, to: string): Element {
  const text = serialize(el).split(`"${from}"`).join(`"${to}"`)
  return el.ownerDocument.importNode(parse(text).documentElement, true) as Element
}

export function withDoctype (xml: string, doctype: string, change: (xml: string) => string = (x) => x): string {
  return `${doctype}\n${change(xml)}`
}

export function billionLaughs (root: string): string {
  const entities = ['<!ENTITY lol "lol">']
  for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`)
  return `<!DOCTYPE ${root} [${entities.join('')}]>`
}

/** Adds an unsigned StatusMessage (outside the signed Assertion) with this content. */
export function statusMessage (content: string): (xml: string) => string {
  return (xml) => xml.replace('</samlp:StatusCode></samlp:Status>',
    `</samlp:StatusCode><samlp:StatusMessage>${content}</samlp:StatusMessage></samlp:Status>`)
}

/** The document declared and encoded as UTF-16 (little-endian, with a BOM). */
export function utf16 (xml: string): Pick<Attack, 'xml' | 'octets'> {
  const declared = `<?xml version="1.0" encoding="UTF-16"?>${xml}`
  return { xml: declared, octets: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(declared, 'utf16le')]) }
}

/** The signed Assertion with `saml:` prefixes instead of its default namespace (signature kept). */
export function reprefixAssertion (xml: string): string {
  const doc = parse(xml)
  const signed = assertionOf(doc)
  const signature = serialize(signatureOf(signed))
  const placeholder = '<!--signature-->'
  const body = serialize(unsignedCopy(signed))
    .replace(/<(\/?)(?=[A-Za-z])/g, '<$1saml:')
    .replace(' xmlns="urn:oasis:names:tc:SAML:2.0:assertion"', ' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"')
    .replace(/(<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1${placeholder}`)
  return serialize(doc).replace(serialize(signed), body.replace(placeholder, signature))
}
