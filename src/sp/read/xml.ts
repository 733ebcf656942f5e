// Parsing untrusted SAML: strict base64, no DTD of any kind, xmldom errors as exceptions, and
// small DOM helpers that walk children instead of running XPath (XPath was 39% of samlify's time).
import { DOMParser } from '@xmldom/xmldom'
import { errors } from '../../errors.js'

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#'
} as const

const ELEMENT_NODE = 1
const TEXT_NODE = 3
const CDATA_SECTION_NODE = 4

const BASE64_WHITESPACE = /[ \t\r\n]+/g
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Decodes a SAMLResponse form value: base64 (whitespace allowed, nothing else), then UTF-8.
 * Node's own base64 decoder silently skips junk, which would let two different form values be
 * the same message; this refuses them instead.
 */
export function decodeBase64Xml (value: string): string {
  const compact = value.replace(BASE64_WHITESPACE, '')
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_BODY.test(compact)) {
    throw new errors.SamlMalformed('not strict base64')
  }
  let xml: string
  try {
    xml = utf8.decode(Buffer.from(compact, 'base64'))
  } catch {
    throw new errors.SamlMalformed('not UTF-8')
  }
  // A NUL cannot occur in XML 1.0, and UTF-16 text decoded as UTF-8 would hide '<!DOCTYPE'.
  if (xml.includes('\u0000')) throw new errors.SamlMalformed('NUL character')
  return xml
}

const DTD_MARKUP = /<!\s*(?:DOCTYPE|ENTITY)/i

/** Refuses any DOCTYPE or entity declaration before a parser sees the text (XXE, billion laughs). */
export function refuseDoctype (xml: string): void {
  if (DTD_MARKUP.test(xml)) throw new errors.SamlDoctype()
}

/** Parses with xmldom; any warning or error is a malformed message, never a partial tree. */
export function parseXml (xml: string): Document {
  const fail = (message: string): never => {
    throw new errors.SamlMalformed(shortReason(message))
  }
  const parser = new DOMParser({
    locator: {},
    errorHandler: { warning: fail, error: fail, fatalError: fail }
  })
  let doc: Document
  try {
    doc = parser.parseFromString(xml, 'text/xml') as unknown as Document
  } catch (err) {
    if ((err as { code?: string }).code === 'SAML_MALFORMED') throw err
    throw new errors.SamlMalformed(shortReason(String((err as Error).message ?? err)))
  }
  if (doc?.documentElement == null) throw new errors.SamlMalformed('no root element')
  return doc
}

/** One line, at most 160 characters: reasons end up in logs, never the XML itself. */
export function shortReason (message: string): string {
  const line = message.replace(/\s+/g, ' ').replace(/^\[xmldom [a-z]+\]\s*/i, '').trim()
  return line.length > 160 ? line.slice(0, 157) + '...' : line
}

export function isElement (node: Node | null | undefined, ns: string, localName: string): node is Element {
  return node != null && node.nodeType === ELEMENT_NODE &&
    (node as Element).localName === localName && (node as Element).namespaceURI === ns
}

/** Element children of `parent` with that name, in document order. */
export function childElements (parent: Element, ns: string, localName: string): Element[] {
  const found: Element[] = []
  for (let n = parent.firstChild; n != null; n = n.nextSibling) {
    if (isElement(n, ns, localName)) found.push(n)
  }
  return found
}

export function firstChild (parent: Element, ns: string, localName: string): Element | null {
  for (let n = parent.firstChild; n != null; n = n.nextSibling) {
    if (isElement(n, ns, localName)) return n
  }
  return null
}

/**
 * The whole text of an element: every text and CDATA descendant joined, comments and processing
 * instructions skipped. Reading only the first text node is how `ali<!-- -->ce@x` becomes `ali`
 * (CVE-2017-11427 and kin); this reads `alice@x`.
 */
export function textOf (el: Element): string {
  let text = ''
  for (let n = el.firstChild; n != null; n = n.nextSibling) {
    if (n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) text += (n as CharacterData).data
    else if (n.nodeType === ELEMENT_NODE) text += textOf(n as Element)
  }
  return text
}

/** textOf without the XML whitespace around it. */
export function trimmedTextOf (el: Element): string {
  return textOf(el).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
}

/** The attribute, or undefined when absent (xmldom answers '' for both absent and empty). */
export function attr (el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined
}
