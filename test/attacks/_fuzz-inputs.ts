// What the fuzz test throws at the gateway (fast-check arbitraries): random bytes, valid signed
// documents edited as trees (so that schema, signature and SAML checks are reached) and mutated as
// text and as base64, signed Redirect queries mutated, random queries, odd forms, JSON, deep
// nesting, and now and then a huge body.
import fc from 'fast-check'
import { buildResponseXml, toBase64 } from '../helpers/idp.js'
import { logoutRequestXml, postValue, redirectQuery } from '../helpers/idp-logout.js'
import { parse, serialize } from './_dom.js'

export const ENDPOINTS = {
  acs: '/api/auth/saml/callback',
  slo: '/api/auth/saml/logout/callback',
  login: '/api/auth/saml'
} as const

export interface FuzzRequest { kind: string, method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: string | Buffer }

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-16', 'application/json',
  'text/plain', 'application/xml', 'text/xml', 'multipart/form-data; boundary=x', 'application/octet-stream',
  'text/html', '', 'x/y', 'application/x-www-form-urlencoded, application/json', 'application/json; charset=latin1'
]
const SNIPPETS = [
  '<!--x-->', '<![CDATA[x]]>', '&amp;', '&#0;', '&#x110000;', '&undefined;', '<!DOCTYPE x>', '<!ENTITY e "e">', '<x>', '</x>',
  '"', "'", ']]>', '<?pi x?>', ' xmlns:samlp="urn:x"', ' ID="_dup"', '\u0000', '\uFFFF', '\uD800', '<', '>', '\r\n',
  '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>', '<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>'
]
const INTERESTING = ['', '2025-01-15T12:00:00Z', '2999-01-01T00:00:00Z', '1970-01-01T00:00:00Z', 'https://motion.example.com/api/auth/saml/callback',
  'urn:oasis:names:tc:SAML:2.0:status:Success', 'urn:oasis:names:tc:SAML:2.0:cm:bearer', '_dup', '#_dup', 'alice@contoso.com', 'spn:https://motion.example.com']
const ATTRIBUTES = ['ID', 'InResponseTo', 'Destination', 'Recipient', 'NotOnOrAfter', 'NotBefore', 'IssueInstant', 'Method', 'Value',
  'Algorithm', 'URI', 'Format', 'Name', 'SessionIndex', 'Version', 'id']

// Valid documents: IdP-initiated responses (accepted once, then replays), responses to unknown
// requests, signed LogoutRequests for someone with no session (POST and Redirect).
const responsesXml = Array.from({ length: 6 }, (_, i) => buildResponseXml({ inResponseTo: i % 2 === 0 ? null : '_unknown', sign: i % 3 === 0 ? 'both' : 'assertion' }))
const logoutsXml = Array.from({ length: 3 }, () => Buffer.from(postValue(logoutRequestXml({ nameId: 'nobody@contoso.com' })), 'base64').toString('utf8'))
const documents = [
  ...responsesXml.map((xml) => ({ xml, url: ENDPOINTS.acs, name: 'SAMLResponse' })),
  ...logoutsXml.map((xml) => ({ xml, url: ENDPOINTS.slo, name: 'SAMLRequest' }))
]
const queries = Array.from({ length: 3 }, () => redirectQuery(logoutRequestXml({ nameId: 'nobody@contoso.com' }), { relayState: 'r' }))
/** Two valid responses, to warm the gateway up before measuring. */
export const warmUp = responsesXml.slice(0, 2).map(toBase64)

// --- text mutations -----------------------------------------------------------------------------

type Mutation = { op: 'truncate' | 'replace' | 'insert' | 'delete' | 'duplicate', at: number, text: string, length: number }
const mutations = fc.array(fc.record({
  op: fc.constantFrom('truncate', 'replace', 'insert', 'delete', 'duplicate'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...SNIPPETS), fc.base64String({ maxLength: 12 })),
  length: fc.integer({ min: 1, max: 600 })
}), { minLength: 1, maxLength: 3 })

function mutate (value: string, edits: Mutation[]): string {
  let s = value
  for (const m of edits) {
    const i = Math.floor(m.at * s.length)
    if (m.op === 'truncate') s = s.slice(0, i)
    else if (m.op === 'replace') s = s.slice(0, i) + m.text + s.slice(i + m.text.length)
    else if (m.op === 'insert') s = s.slice(0, i) + m.text + s.slice(i)
    else if (m.op === 'delete') s = s.slice(0, i) + s.slice(i + m.length)
    else s = s.slice(0, i + m.length) + s.slice(i, i + m.length) + s.slice(i + m.length)
  }
  return s
}

// --- tree edits: the XML stays well-formed ------------------------------------------------------

type TreeEdit = { op: 'remove' | 'duplicate' | 'move' | 'text' | 'attribute' | 'comment', i: number, j: number, text: string, name: string }
const treeEdits = fc.array(fc.record({
  op: fc.constantFrom('remove', 'duplicate', 'move', 'text', 'attribute', 'comment'),
  i: fc.nat(),
  j: fc.nat(),
  text: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...INTERESTING)),
  name: fc.constantFrom(...ATTRIBUTES)
}), { minLength: 1, maxLength: 3 })

/** Text a parser keeps: no characters XML 1.0 forbids (those are the text mutations' job). */
const xmlSafe = (s: string): string => s.replace(/[^\t\n\r\x20-\ud7ff\ue000-\ufffd]/gu, '?')

function isWithin (node: Node, ancestor: Node): boolean {
  for (let n: Node | null = node; n !== null; n = n.parentNode) if (n === ancestor) return true
  return false
}

function editTree (xml: string, edits: TreeEdit[]): string {
  const doc = parse(xml, { quiet: true })
  for (const e of edits) {
    const all = Array.from(doc.getElementsByTagName('*'))
    const el = all[e.i % all.length]
    const other = all[e.j % all.length]
    const root = el === doc.documentElement
    if (e.op === 'remove' && !root) el.parentNode!.removeChild(el)
    else if (e.op === 'duplicate' && !root) el.parentNode!.insertBefore(el.cloneNode(true), el.nextSibling)
    else if (e.op === 'move' && !root && !isWithin(other, el)) other.appendChild(el)
    else if (e.op === 'text') {
      while (el.firstChild !== null) el.removeChild(el.firstChild)
      el.appendChild(doc.createTextNode(xmlSafe(e.text)))
    } else if (e.op === 'attribute') el.setAttribute(e.name, xmlSafe(e.text))
    else if (e.op === 'comment') el.insertBefore(doc.createComment(xmlSafe(e.text).replace(/-/g, '_')), el.firstChild)
  }
  return serialize(doc)
}

// --- requests -----------------------------------------------------------------------------------

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()
const formTo = (kind: string, url: string, fields: Record<string, string>): FuzzRequest =>
  ({ kind, method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(fields) })
const post = (kind: string, url: string, type: string, payload: string | Buffer): FuzzRequest =>
  ({ kind, method: 'POST', url, headers: type === '' ? {} : { 'content-type': type }, payload })
const get = (kind: string, url: string): FuzzRequest => ({ kind, method: 'GET', url, headers: {} })
const postUrl = fc.constantFrom(ENDPOINTS.acs, ENDPOINTS.slo)
const contentType = fc.constantFrom(...CONTENT_TYPES)
/** Percent-escapes of the UTF-8 of `c` (a lone surrogate becomes U+FFFD, as a browser sends it). */
const pct = (c: string): string => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
/** Only what can travel in a request line: printable ASCII, the rest percent-escaped. */
const urlSafe = (s: string): string => s.replace(/[^\x21-\x7e]|#/gu, pct)
/** Query text as a client could send it, with percent-escapes valid or cut short. */
const queryText = fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x21-\x7e]|#/gu, (c) => pct(c).slice(0, 2 + (c.charCodeAt(0) % 5))))
const otherEndpoint = (url: string): string => url === ENDPOINTS.acs ? ENDPOINTS.slo : ENDPOINTS.acs
const deepXml = (depth: number): string =>
  `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</samlp:Response>`

const treeEdited = fc.record({ doc: fc.constantFrom(...documents), edits: treeEdits, elsewhere: fc.integer({ min: 0, max: 9 }) })
  .map(({ doc, edits, elsewhere }) => formTo('tree-edited document', elsewhere === 0 ? otherEndpoint(doc.url) : doc.url, { [doc.name]: toBase64(editTree(doc.xml, edits)) }))
const mutatedXml = fc.record({ doc: fc.constantFrom(...documents), edits: mutations })
  .map(({ doc, edits }) => formTo('mutated XML', doc.url, { [doc.name]: toBase64(mutate(doc.xml, edits)) }))
const mutatedBase64 = fc.record({ url: postUrl, name: fc.constantFrom('SAMLResponse', 'SAMLRequest'), doc: fc.constantFrom(...documents), edits: mutations })
  .map(({ url, name, doc, edits }) => formTo('mutated base64', url, { [name]: mutate(toBase64(doc.xml), edits) }))
const mutatedQuery = fc.record({ query: fc.constantFrom(...queries), edits: mutations })
  .map(({ query, edits }) => get('mutated Redirect query', `${ENDPOINTS.slo}?${urlSafe(mutate(query, edits))}`))
const randomQuery = fc.record({ url: fc.constantFrom(ENDPOINTS.login, `${ENDPOINTS.login}/login`, ENDPOINTS.slo), query: fc.oneof(queryText, fc.webQueryParameters()) })
  .map(({ url, query }) => get('random query', `${url}?${query}`))
const randomBytes = fc.record({ url: postUrl, type: contentType, bytes: fc.uint8Array({ maxLength: 4096 }) })
  .map(({ url, type, bytes }) => post('random bytes', url, type, Buffer.from(bytes)))
const oddForm = fc.record({
  url: postUrl,
  fields: fc.dictionary(fc.constantFrom('SAMLResponse', 'SAMLRequest', 'RelayState', 'Signature', 'SigAlg', 'x', ''),
    fc.oneof(fc.string({ maxLength: 200 }), fc.base64String({ maxLength: 400 })), { maxKeys: 4 }),
  repeated: fc.boolean()
}).map(({ url, fields, repeated }) => post('odd form', url, CONTENT_TYPES[0], repeated ? `${form(fields)}&${form(fields)}` : form(fields)))
const json = fc.record({ url: postUrl, value: fc.jsonValue({ maxDepth: 4 }) })
  .map(({ url, value }) => post('JSON', url, 'application/json', JSON.stringify(value) ?? 'null'))
const deep = fc.record({ url: postUrl, depth: fc.integer({ min: 100, max: 20_000 }), asJson: fc.boolean() })
  .map(({ url, depth, asJson }) => asJson
    ? post('deep JSON', url, 'application/json', `${'['.repeat(depth)}${']'.repeat(depth)}`)
    : formTo('deep XML', url, { SAMLResponse: toBase64(deepXml(depth)) }))
const huge = fc.record({ url: postUrl, size: fc.integer({ min: 200_000, max: 1_500_000 }), type: contentType, fill: fc.constantFrom('A', '<a>', '=') })
  .map(({ url, size, type, fill }) => post('huge body', url, type, `SAMLResponse=${fill.repeat(Math.ceil(size / fill.length))}`))

/** Every kind of input, weighted; huge bodies are 1 in 86. */
export const fuzzInputs: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 14, arbitrary: treeEdited },
  { weight: 12, arbitrary: mutatedXml },
  { weight: 12, arbitrary: mutatedBase64 },
  { weight: 10, arbitrary: mutatedQuery },
  { weight: 10, arbitrary: randomQuery },
  { weight: 10, arbitrary: randomBytes },
  { weight: 8, arbitrary: oddForm },
  { weight: 6, arbitrary: json },
  { weight: 3, arbitrary: deep },
  { weight: 1, arbitrary: huge }
)
