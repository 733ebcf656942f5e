// Reading a LogoutRequest or LogoutResponse sent to our SLO endpoint, over either binding.
// samlify leaves a logout message's issuer and InResponseTo unchecked and accepts it unsigned
// unless told otherwise; here the signature is checked first and values come from signed bytes.
//
// Redirect binding: the signature covers the query string exactly as received. It is cut from the
// raw URL, never rebuilt from decoded values: Entra percent-encodes in lower case, and any
// re-encoding would change the octets it signed.
import crypto from 'node:crypto'
import { inflateRawSync } from 'node:zlib'
import { errors, withDetail } from '../../errors.js'
import type { ValidationSettings } from '../types.js'
import { parseInboundSaml } from './schema.js'
import { RSA_SHA1, SIGNATURE_ALGORITHMS, idCounter, idpKeys, verifyEnvelopedSignature } from './signature.js'
import { parseInstant } from './time.js'
import { fieldText, isSamlMessageField, type SamlMessageField } from './form-value.js'
import { NS, attr, childElements, decodeBase64Xml, firstChild, isElement, parseXml, trimmedTextOf } from './xml.js'

/** The validation settings a logout message is judged by (gateway.ts hands them all). */
export interface LogoutExpectations extends Pick<ValidationSettings, 'allowSha1' | 'clockSkewMs' | 'maxMessageBytes'> {
  idpIssuers: readonly string[]
  idpCerts: readonly string[]
  sloUrl: string
}

interface LogoutCommon {
  id: string
  issuer: string
  /** True when a signature was present and verified. */
  signed: boolean
  relayState?: string
}

export interface InboundLogoutRequest extends LogoutCommon {
  kind: 'request'
  nameId: string
  nameIdFormat?: string
  sessionIndexes: string[]
  /** Epoch ms after which this request is refused as stale: its ID must be remembered until then. */
  refusedAfter: number
}

/**
 * How long after its IssueInstant (plus the clock skew) a LogoutRequest is still taken. The IdP
 * sends it through the browser at once; without a limit, a signed LogoutRequest lifted from a
 * browser history or a proxy log ends that person's sessions whenever it is replayed.
 */
export const LOGOUT_REQUEST_MAX_AGE_MS = 5 * 60_000

export interface InboundLogoutResponse extends LogoutCommon {
  kind: 'response'
  inResponseTo?: string
  status: string
}

export type InboundLogout = InboundLogoutRequest | InboundLogoutResponse

/** A message at the SLO endpoint, as received: what a validator worker needs to read it. */
export type LogoutInput =
  | { binding: 'redirect', rawQuery: string }
  | { binding: 'post', body: Record<string, unknown> }

/** Either binding; pure and synchronous, so that it runs in a validator worker as well as inline. */
export function readLogoutMessage (input: LogoutInput, exp: LogoutExpectations, nowMs: number): InboundLogout {
  return input.binding === 'redirect' ? readRedirectLogout(input.rawQuery, exp, nowMs) : readPostLogout(input.body, exp, nowMs)
}

/** HTTP-Redirect binding: `rawQuery` is the query string as it arrived (without '?'). */
export function readRedirectLogout (rawQuery: string, exp: LogoutExpectations, nowMs: number): InboundLogout {
  if (rawQuery.length > exp.maxMessageBytes) throw new errors.SamlTooLarge()
  const params = rawParams(rawQuery)
  const kind = params.has('SAMLRequest') ? 'SAMLRequest' : params.has('SAMLResponse') ? 'SAMLResponse' : undefined
  if (kind === undefined || (params.has('SAMLRequest') && params.has('SAMLResponse'))) throw new errors.SamlMissingMessage()
  const message = params.get(kind) as string
  const relayState = params.get('RelayState')
  let signed = false
  if (params.has('Signature')) {
    const sigAlg = params.get('SigAlg')
    if (sigAlg === undefined) throw new errors.SamlSignature('Signature without SigAlg')
    const algorithm = formDecode(sigAlg)
    const hash = SIGNATURE_ALGORITHMS[algorithm]
    if (hash === undefined || (algorithm === RSA_SHA1 && !exp.allowSha1)) throw new errors.SamlWeakAlgorithm(algorithm)
    // saml-bindings §3.4.4.1: the octets are the raw parameters, in this order.
    const octets = `${kind}=${message}${relayState !== undefined ? `&RelayState=${relayState}` : ''}&SigAlg=${sigAlg}`
    const signature = Buffer.from(formDecode(params.get('Signature') as string), 'base64')
    const keys = idpKeys(exp.idpCerts)
    if (!keys.some((key) => crypto.verify(hash, Buffer.from(octets, 'utf8'), key, signature))) {
      throw new errors.SamlSignature('the query-string signature does not verify with the IdP certificate')
    }
    signed = true
  }
  const xml = inflate(formDecode(message), exp.maxMessageBytes)
  const doc = parseInboundSaml(xml)
  // In this binding any XML signature must be ignored (saml-bindings §3.4.4.1): only the query one counts.
  return readLogout(doc.documentElement, { signed, relayState: relayState === undefined ? undefined : formDecode(relayState) }, exp, nowMs)
}

/** HTTP-POST binding: the form fields. */
export function readPostLogout (body: Record<string, unknown>, exp: LogoutExpectations, nowMs: number): InboundLogout {
  const request = body.SAMLRequest
  const response = body.SAMLResponse
  const hasRequest = isSamlMessageField(request)
  // Exactly one of the two.
  if (hasRequest === isSamlMessageField(response)) throw new errors.SamlMissingMessage()
  const value = fieldText((hasRequest ? request : response) as SamlMessageField)
  if (value.length > exp.maxMessageBytes) throw new errors.SamlTooLarge()
  const xml = decodeBase64Xml(value)
  const doc = parseInboundSaml(xml)
  const root = doc.documentElement
  const signatures = Array.from(doc.getElementsByTagNameNS(NS.ds, 'Signature'))
  const relayState = typeof body.RelayState === 'string' ? body.RelayState : undefined
  if (signatures.length === 0) return readLogout(root, { signed: false, relayState }, exp, nowMs)
  if (signatures.length > 1 || signatures[0].parentNode !== root) {
    throw new errors.SamlSignature('a signature on an element the gateway does not consume')
  }
  const signedXml = verifyEnvelopedSignature({
    xml, signature: signatures[0], signed: root, idCount: idCounter(doc), keys: idpKeys(exp.idpCerts), allowSha1: exp.allowSha1
  })
  // Read from the verified bytes only.
  return readLogout(parseXml(signedXml).documentElement, { signed: true, relayState }, exp, nowMs)
}

function readLogout (root: Element, meta: { signed: boolean, relayState?: string }, exp: LogoutExpectations, nowMs: number): InboundLogout {
  const isRequest = isElement(root, NS.samlp, 'LogoutRequest')
  if (!isRequest && !isElement(root, NS.samlp, 'LogoutResponse')) throw new errors.SamlNotResponse('LogoutRequest or LogoutResponse')
  const issuerEl = firstChild(root, NS.saml, 'Issuer')
  const issuer = issuerEl === null ? '' : trimmedTextOf(issuerEl)
  if (!exp.idpIssuers.includes(issuer)) {
    throw withDetail(new errors.SamlLogoutIssuer(), { expected: [...exp.idpIssuers], received: issuer, element: root.localName })
  }
  const destination = attr(root, 'Destination')
  if (destination !== undefined && destination !== exp.sloUrl) {
    throw withDetail(new errors.SamlDestination(), { expected: exp.sloUrl, received: destination, element: root.localName })
  }
  const common = { id: attr(root, 'ID') ?? '', issuer, signed: meta.signed, relayState: meta.relayState }

  if (isRequest) {
    const notOnOrAfter = attr(root, 'NotOnOrAfter')
    if (notOnOrAfter !== undefined && nowMs >= parseInstant(notOnOrAfter, 'NotOnOrAfter') + exp.clockSkewMs) throw new errors.SamlExpired()
    // Freshness (found by test/attacks: a LogoutRequest replayed an hour later still ended sessions).
    // IssueInstant is required by the schema; the flow remembers the ID until refusedAfter.
    const issued = parseInstant(attr(root, 'IssueInstant') ?? '', 'IssueInstant')
    if (nowMs < issued - exp.clockSkewMs) throw new errors.SamlNotYetValid()
    const refusedAfter = Math.min(issued + LOGOUT_REQUEST_MAX_AGE_MS,
      notOnOrAfter === undefined ? Infinity : parseInstant(notOnOrAfter, 'NotOnOrAfter')) + exp.clockSkewMs
    if (nowMs >= refusedAfter) throw new errors.SamlExpired()
    const nameIdEl = firstChild(root, NS.saml, 'NameID')
    if (nameIdEl === null) throw new errors.SamlSubject('no NameID (an encrypted NameID is not supported)')
    const nameId = trimmedTextOf(nameIdEl)
    if (nameId === '') throw new errors.SamlSubject('empty NameID')
    return {
      kind: 'request',
      ...common,
      nameId,
      nameIdFormat: attr(nameIdEl, 'Format'),
      sessionIndexes: childElements(root, NS.samlp, 'SessionIndex').map(trimmedTextOf).filter((s) => s !== ''),
      refusedAfter
    }
  }
  const statusCode = firstChild(root, NS.samlp, 'Status')
  const code = statusCode === null ? null : firstChild(statusCode, NS.samlp, 'StatusCode')
  return { kind: 'response', ...common, inResponseTo: attr(root, 'InResponseTo'), status: code === null ? '' : attr(code, 'Value') ?? '' }
}

/** name → raw (still percent-encoded) value; a repeated parameter is refused. */
function rawParams (query: string): Map<string, string> {
  const params = new Map<string, string>()
  for (const part of query.split('&')) {
    if (part === '') continue
    const index = part.indexOf('=')
    const name = index === -1 ? part : part.slice(0, index)
    if (params.has(name)) throw new errors.SamlMalformed(`parameter ${name} repeated`)
    params.set(name, index === -1 ? '' : part.slice(index + 1))
  }
  return params
}

function formDecode (value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    throw new errors.SamlMalformed('bad percent-encoding')
  }
}

function inflate (base64: string, limit: number): string {
  const compact = base64.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new errors.SamlMalformed('not strict base64')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(inflateRawSync(Buffer.from(compact, 'base64'), { maxOutputLength: limit }))
  } catch {
    throw new errors.SamlMalformed('not a DEFLATE-compressed message')
  }
}
