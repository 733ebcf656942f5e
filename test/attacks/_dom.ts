// DOM surgery for the attack generator: parse a signed document, move and clone its elements the
// way an attacker's tool would, serialize it again. xmldom, like the gateway, so that what is
// built here is exactly what the gateway will parse.
import { DOMParser, XMLSerializer } from '@xmldom/xmldom'

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#'
} as const

export const EMAIL_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'

export function parse (xml: string, o: { quiet?: boolean } = {}): Document {
  const quiet = (): void => {}
  const parser = o.quiet === true ? new DOMParser({ errorHandler: { warning: quiet, error: quiet } }) : new DOMParser()
  return parser.parseFromString(xml, 'text/xml') as unknown as Document
}

export function serialize (doc: Document | Element): string {
  return new XMLSerializer().serializeToString(doc as never)
}

/** Edits a copy of `xml` and gives back the new text. */
export function edit (xml: string, change: (doc: Document, root: Element) => void): string {
  const doc = parse(xml)
  change(doc, doc.documentElement)
  return serialize(doc)
}

/** Element children of `parent` in that namespace and local name. */
export function children (parent: Element, ns: string, localName: string): Element[] {
  const found: Element[] = []
  for (let n = parent.firstChild; n != null; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === localName && (n as Element).namespaceURI === ns) found.push(n as Element)
  }
  return found
}

export function child (parent: Element, ns: string, localName: string): Element {
  const found = children(parent, ns, localName)[0]
  if (found === undefined) throw new Error(`no ${localName} under ${parent.localName}`)
  return found
}

/** The first descendant in document order (the element itself excluded). */
export function descendant (root: Element | Document, ns: string, localName: string): Element {
  const found = root.getElementsByTagNameNS(ns, localName)[0]
  if (found === undefined) throw new Error(`no ${localName} in the document`)
  return found
}

export const assertionOf = (root: Element | Document): Element => descendant(root, NS.saml, 'Assertion')
export const signatureOf = (signed: Element): Element => child(signed, NS.ds, 'Signature')

/** A deep copy of `el` without its own enveloped ds:Signature: the bytes its signature covers. */
export function unsignedCopy (el: Element): Element {
  const copy = el.cloneNode(true) as Element
  for (const signature of children(copy, NS.ds, 'Signature')) copy.removeChild(signature)
  return copy
}

export function remove (node: Node): Node {
  node.parentNode?.removeChild(node)
  return node
}

export function insertAfter (node: Node, reference: Node): void {
  reference.parentNode!.insertBefore(node, reference.nextSibling)
}

/** Replaces the content of `el` with one text node. */
export function setText (el: Element, text: string): void {
  while (el.firstChild != null) el.removeChild(el.firstChild)
  el.appendChild(el.ownerDocument.createTextNode(text))
}

/** Replaces the content of `el` with nodes parsed from an XML fragment (comments, CDATA, PIs). */
export function setContent (el: Element, fragmentXml: string): void {
  while (el.firstChild != null) el.removeChild(el.firstChild)
  const wrapper = parse(`<w>${fragmentXml}</w>`).documentElement
  for (let n = wrapper.firstChild; n != null; n = n.nextSibling) el.appendChild(el.ownerDocument.importNode(n, true))
}

/** The AttributeValue elements of the email claim inside `scope`. */
export function emailValues (scope: Element): Element[] {
  return Array.from(scope.getElementsByTagNameNS(NS.saml, 'Attribute'))
    .filter((a) => a.getAttribute('Name') === EMAIL_CLAIM)
    .flatMap((a) => children(a, NS.saml, 'AttributeValue'))
}

/** Makes every NameID and email claim inside `scope` name `who`: the attacker's edit. */
export function impersonate (who: string): (scope: Element) => void {
  return (scope) => {
    for (const nameId of Array.from(scope.getElementsByTagNameNS(NS.saml, 'NameID'))) setText(nameId, who)
    for (const value of emailValues(scope)) setText(value, who)
  }
}

/** An element in `ns` named `qualifiedName`, placed as the first child of `parent` after `after` (if any). */
export function createIn (doc: Document, ns: string, qualifiedName: string): Element {
  return doc.createElementNS(ns, qualifiedName)
}
