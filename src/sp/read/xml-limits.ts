// A linear pre-scan of untrusted XML, run before any DOM parser sees it. xmldom is quadratic on
// nested namespace declarations (6,000 of them in 188 KB cost it over a second) and costly on deep
// or wide documents; a SAML message needs none of that. This scan reads each character once,
// allocates nothing per element, and refuses a document past any limit below with
// SAML_TOO_COMPLEX. Structure it cannot follow is SAML_MALFORMED: the parsers would refuse it too.
import { errors } from '../../errors.js'

export interface XmlLimits {
  /** Elements open at once. Entra's deepest path (an encrypted assertion's key) is 8. */
  maxDepth: number
  /** Elements in the whole document (an AttributeValue each: Entra caps groups at 150). */
  maxElements: number
  /** Attributes on one element, namespace declarations included. */
  maxAttributesPerElement: number
  /** Attributes in the whole document. */
  maxAttributes: number
  /** Namespace declarations in the whole document (pysaml2 declares two per AttributeValue). */
  maxNamespaceDeclarations: number
  /** Namespace declarations in scope at any element (on it and its ancestors). */
  maxNamespacesInScope: number
}

export const XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxDepth: 40,
  maxElements: 2_500,
  maxAttributesPerElement: 32,
  maxAttributes: 2_500,
  maxNamespaceDeclarations: 800,
  maxNamespacesInScope: 40
})

const GT = 62 // >
const SLASH = 47
const BANG = 33
const QUESTION = 63
const EQUALS = 61
const DQUOTE = 34
const SQUOTE = 39

function isSpace (c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13
}

/** Throws SAML_TOO_COMPLEX past a limit, SAML_MALFORMED where the markup cannot be followed. */
export function prescanXml (xml: string, limits: Readonly<XmlLimits> = XML_LIMITS): void {
  const scan = new Scan(xml, limits)
  let i = xml.indexOf('<')
  while (i !== -1) {
    i = scan.markup(i)
    i = xml.indexOf('<', i)
  }
  if (scan.depth !== 0) throw new errors.SamlMalformed('unclosed element')
  if (scan.elements === 0) throw new errors.SamlMalformed('no root element')
}

class Scan {
  depth = 0
  elements = 0
  attributes = 0
  namespaces = 0
  /** Namespace declarations made by each open element, and their running total. */
  private readonly declaredAt: Int32Array
  private inScope = 0

  constructor (private readonly xml: string, private readonly limits: Readonly<XmlLimits>) {
    this.declaredAt = new Int32Array(limits.maxDepth + 1)
  }

  /** Reads the markup that starts at `i` (a '<'); returns the index after it. */
  markup (i: number): number {
    const next = this.xml.charCodeAt(i + 1)
    if (next === BANG) return this.skip(i, this.xml.startsWith('<!--', i) ? '-->' : this.xml.startsWith('<![CDATA[', i) ? ']]>' : undefined)
    if (next === QUESTION) return this.skip(i, '?>')
    if (next === SLASH) return this.endTag(i)
    return this.startTag(i)
  }

  private skip (i: number, terminator: string | undefined): number {
    // Any other '<!' is a DTD, refused before this scan runs; refused here as well.
    if (terminator === undefined) throw new errors.SamlDoctype()
    const end = this.xml.indexOf(terminator, i + 2)
    if (end === -1) throw new errors.SamlMalformed('unterminated markup')
    return end + terminator.length
  }

  private endTag (i: number): number {
    const end = this.xml.indexOf('>', i + 2)
    if (end === -1 || this.depth === 0) throw new errors.SamlMalformed('unbalanced end tag')
    this.inScope -= this.declaredAt[this.depth]
    this.depth--
    return end + 1
  }

  private startTag (i: number): number {
    const { xml, limits } = this
    const n = xml.length
    if (++this.elements > limits.maxElements) throw new errors.SamlTooComplex('too many elements')
    let j = i + 1
    while (j < n && !isSpace(xml.charCodeAt(j)) && xml.charCodeAt(j) !== GT && xml.charCodeAt(j) !== SLASH) j++
    let own = 0
    let declared = 0
    for (;;) {
      while (j < n && isSpace(xml.charCodeAt(j))) j++
      const c = xml.charCodeAt(j)
      if (j >= n) throw new errors.SamlMalformed('unterminated start tag')
      if (c === GT) return this.open(declared, j + 1)
      if (c === SLASH) {
        if (xml.charCodeAt(j + 1) !== GT) throw new errors.SamlMalformed('stray / in a start tag')
        this.checkScope(declared)
        return j + 2
      }
      const nameStart = j
      while (j < n && xml.charCodeAt(j) !== EQUALS && !isSpace(xml.charCodeAt(j)) && xml.charCodeAt(j) !== GT && xml.charCodeAt(j) !== SLASH) j++
      if (j === nameStart) throw new errors.SamlMalformed('attribute without a name')
      const isNamespace = xml.startsWith('xmlns', nameStart) && (j === nameStart + 5 || xml.charCodeAt(nameStart + 5) === 58)
      while (j < n && isSpace(xml.charCodeAt(j))) j++
      if (xml.charCodeAt(j) !== EQUALS) throw new errors.SamlMalformed('attribute without a value')
      j++
      while (j < n && isSpace(xml.charCodeAt(j))) j++
      const quote = xml.charCodeAt(j)
      if (quote !== DQUOTE && quote !== SQUOTE) throw new errors.SamlMalformed('unquoted attribute value')
      const close = xml.indexOf(quote === DQUOTE ? '"' : "'", j + 1)
      if (close === -1) throw new errors.SamlMalformed('unterminated attribute value')
      j = close + 1
      if (++own > limits.maxAttributesPerElement) throw new errors.SamlTooComplex('too many attributes on one element')
      if (++this.attributes > limits.maxAttributes) throw new errors.SamlTooComplex('too many attributes')
      if (isNamespace) {
        declared++
        if (++this.namespaces > limits.maxNamespaceDeclarations) throw new errors.SamlTooComplex('too many namespace declarations')
      }
    }
  }

  /** An element left open: one level deeper, its declarations in scope until its end tag. */
  private open (declared: number, next: number): number {
    if (++this.depth > this.limits.maxDepth) throw new errors.SamlTooComplex('nested too deep')
    this.checkScope(declared)
    this.declaredAt[this.depth] = declared
    this.inScope += declared
    return next
  }

  private checkScope (declared: number): void {
    if (this.inScope + declared > this.limits.maxNamespacesInScope) throw new errors.SamlTooComplex('too many namespace declarations in scope')
  }
}
