// Parser bombs: the worst documents of each shape that fit within the body limit (256 KB once
// base64-encoded). xmldom was quadratic on nested namespace declarations (the first, ~170 KB, cost
// it over a second); the gateway refuses each with a linear pre-scan before any DOM parser runs.
// Used by the parser-flood bench section and by the attack catalogue (test/attacks).

const OPEN = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_bomb" Version="2.0" IssueInstant="2025-01-15T12:00:00Z"><samlp:Extensions>'
const CLOSE = '</samlp:Extensions></samlp:Response>'

/** `count` nested elements; each may declare its own namespace prefix. */
export function nested (count: number, declareNamespaces: boolean): string {
  let open = ''
  let close = ''
  for (let i = 0; i < count; i++) {
    const prefix = `p${i % 50}`
    open += declareNamespaces ? `<${prefix}:e xmlns:${prefix}="u">` : '<e>'
    close = (declareNamespaces ? `</${prefix}:e>` : '</e>') + close
  }
  return `${OPEN}${open}${close}${CLOSE}`
}

export function manyAttributes (count: number): string {
  let attributes = ''
  for (let i = 0; i < count; i++) attributes += ` a${i}="x"`
  return `${OPEN}<e${attributes}/>${CLOSE}`
}

export function wide (count: number, namespacesEach = 0): string {
  let ns = ''
  for (let i = 0; i < namespacesEach; i++) ns += ` xmlns:n${i}="urn:x"`
  return `${OPEN}${`<e${ns}/>`.repeat(count)}${CLOSE}`
}

export interface ParserBomb { id: string, title: string, xml: string }

/** Each shape at the largest size that still fits the 256 KB message limit once base64-encoded. */
export function parserBombs (): ParserBomb[] {
  return [
    { id: 'parser-nested-namespaces', title: '6,000 nested elements, each declaring a namespace prefix', xml: nested(6_000, true) },
    { id: 'parser-deep', title: '26,000 nested elements', xml: nested(26_000, false) },
    { id: 'parser-attributes', title: 'one element with 17,000 attributes', xml: manyAttributes(17_000) },
    { id: 'parser-wide', title: '45,000 sibling elements', xml: wide(45_000) },
    { id: 'parser-wide-namespaces', title: '1,400 sibling elements declaring 6 namespaces each', xml: wide(1_400, 6) }
  ]
}
