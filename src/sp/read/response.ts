// Validates a SAML 2.0 login response (HTTP-POST binding): size and shape, signatures, status,
// issuer, audience, destination and recipient, time, subject. Pure and synchronous: the stateful
// checks (InResponseTo against our requests, replay) are the caller's (sp/login-flow.ts). Every
// value returned is read from the bytes a verified signature covers.
import { errors, withDetail } from '../../errors.js'
import { parseInboundSaml } from './schema.js'
import { decryptResponse, insideDecryptionWindow } from './decrypt.js'
import type { ResponseExpectations, ValidatedAssertion } from '../types.js'
import { TimeWindow } from './time.js'
import { fieldText, type SamlMessageField } from './form-value.js'
import { bareAudience } from '../entra.js'
import { idCounter, idpKeys, verifyEnvelopedSignature } from './signature.js'
import {
  NS, attr, childElements, decodeBase64Xml, firstChild, isElement, parseXml,
  shortReason, trimmedTextOf
} from './xml.js'

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success'
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer'

/** The signed Response (or the document's, when only the assertion is signed) and the signed Assertion. */
interface SignedParts {
  response: Element
  assertion: Element
}

export function validateLoginResponse (
  samlResponse: SamlMessageField,
  exp: ResponseExpectations,
  nowMs: number
): ValidatedAssertion {
  const samlResponseBase64 = fieldText(samlResponse)
  if (samlResponseBase64.length > exp.maxMessageBytes) throw new errors.SamlTooLarge()
  const xml = decodeBase64Xml(samlResponseBase64)
  const doc = parseInboundSaml(xml)
  const root = doc.documentElement
  if (!isElement(root, NS.samlp, 'Response')) throw new errors.SamlNotResponse('Response')
  checkStatus(root)
  if (exp.decryptionKey !== undefined && doc.getElementsByTagNameNS(NS.saml, 'EncryptedAssertion').length > 0) {
    // Decrypted, then checked again from the start up to its signature, inside the window where
    // every failure is SAML_DECRYPTION; what the signed assertion says is read as for any other.
    // A Response signature verified over the ciphertext vouches for the assertion it decrypts to,
    // where a Response signature alone is enough (GATEWAY_WANT_ASSERTIONS_SIGNED=false).
    const clear = decryptResponse(xml, doc, root, { ...exp, decryptionKey: exp.decryptionKey })
    const signed = insideDecryptionWindow(() => {
      const clearDoc = parseInboundSaml(clear.xml)
      const clearRoot = clearDoc.documentElement
      return verifySignatures(clear.xml, clearDoc, clearRoot, onlyAssertion(clearDoc, clearRoot), { ...exp, decryptionKey: undefined }, clear.responseSigned)
    })
    return readAssertion(signed, exp, nowMs)
  }
  const assertion = onlyAssertion(doc, root)
  const signed = verifySignatures(xml, doc, root, assertion, exp)
  return readAssertion(signed, exp, nowMs)
}

function checkStatus (response: Element): void {
  const status = firstChild(response, NS.samlp, 'Status')
  const code = status == null ? null : firstChild(status, NS.samlp, 'StatusCode')
  const value = code == null ? undefined : attr(code, 'Value')
  if (value === SUCCESS) return
  // Entra says why in the second-level code (e.g. RequestDenied) and in StatusMessage (AADSTS…).
  const second = code == null ? null : firstChild(code, NS.samlp, 'StatusCode')
  const message = status == null ? null : firstChild(status, NS.samlp, 'StatusMessage')
  const parts = [value ?? 'no StatusCode', second == null ? '' : attr(second, 'Value') ?? '',
    message == null ? '' : trimmedTextOf(message)]
  throw new errors.SamlStatus(shortReason(parts.filter(Boolean).join(' ')))
}

/** Exactly one Assertion in the whole document, and it is a child of the Response. */
function onlyAssertion (doc: Document, response: Element): Element {
  const plain = doc.getElementsByTagNameNS(NS.saml, 'Assertion')
  const encrypted = doc.getElementsByTagNameNS(NS.saml, 'EncryptedAssertion')
  if (plain.length + encrypted.length !== 1) throw new errors.SamlAssertionCount()
  if (encrypted.length === 1) throw new errors.SamlEncrypted()
  const assertion = plain[0]
  if (assertion.parentNode !== response) throw new errors.SamlAssertionCount()
  return assertion
}

/** `envelopeSigned`: a decrypted response whose Response signature verified over the ciphertext (then removed). */
function verifySignatures (
  xml: string, doc: Document, response: Element, assertion: Element, exp: ResponseExpectations, envelopeSigned = false
): SignedParts {
  let responseSignature: Element | undefined
  let assertionSignature: Element | undefined
  for (const signature of Array.from(doc.getElementsByTagNameNS(NS.ds, 'Signature'))) {
    if (signature.parentNode === response && responseSignature == null) responseSignature = signature
    else if (signature.parentNode === assertion && assertionSignature == null) assertionSignature = signature
    else throw new errors.SamlSignature('a signature on an element the gateway does not consume')
  }
  if (responseSignature == null && assertionSignature == null) {
    if (!envelopeSigned) throw withDetail(new errors.SamlSignature('the response is not signed'), { signed: 'nothing', expected: 'the Assertion signed' })
    // The Response signature verified over the ciphertext of this very assertion: it counts as a
    // Response signature, and only where a Response signature alone is enough.
    if (exp.wantAssertionsSigned) throw withDetail(new errors.SamlUnsignedAssertion(), { signed: 'Response (over the encrypted assertion)', expected: 'the Assertion signed (Entra: Sign SAML assertion)' })
    return { response, assertion }
  }

  const keys = idpKeys(exp.idpCerts)
  const idCount = idCounter(doc)
  const verify = (signature: Element, signed: Element): string => {
    try {
      return verifyEnvelopedSignature({ xml, signature, signed, idCount, keys, allowSha1: exp.allowSha1 })
    } catch (err) {
      // Which signature failed: the administrator compares it with Entra's Signing Option.
      throw (err as { detail?: unknown }).detail === undefined ? withDetail(err as Error, { element: signed.localName }) : err
    }
  }
  // Every signature present must verify: a broken Response signature is not excused by a good
  // assertion signature (the envelope's Destination and Issuer would be unauthenticated).
  const signedResponse = responseSignature == null ? undefined : verify(responseSignature, response)
  const signedAssertion = assertionSignature == null ? undefined : verify(assertionSignature, assertion)
  if (signedAssertion == null && exp.wantAssertionsSigned) {
    throw withDetail(new errors.SamlUnsignedAssertion(), { signed: 'Response', expected: 'the Assertion signed (Entra: Sign SAML assertion)' })
  }

  const signedRoot = signedResponse == null ? response : parseXml(signedResponse).documentElement
  if (signedAssertion != null) return { response: signedRoot, assertion: parseXml(signedAssertion).documentElement }
  const inside = childElements(signedRoot, NS.saml, 'Assertion')
  if (inside.length !== 1) throw new errors.SamlAssertionCount()
  return { response: signedRoot, assertion: inside[0] }
}

function readAssertion ({ response, assertion }: SignedParts, exp: ResponseExpectations, nowMs: number): ValidatedAssertion {
  const issuer = checkIssuers(response, assertion, exp)
  const conditions = firstChild(assertion, NS.saml, 'Conditions')
  checkAudience(conditions, exp.audience)
  const destination = attr(response, 'Destination')
  if (destination != null && destination !== exp.acsUrl) {
    throw withDetail(new errors.SamlDestination(), { expected: exp.acsUrl, received: destination })
  }
  const subject = firstChild(assertion, NS.saml, 'Subject')
  if (subject == null) throw new errors.SamlSubject('no Subject')
  const confirmation = bearerConfirmation(subject, exp.acsUrl)

  const authn = childElements(assertion, NS.saml, 'AuthnStatement')
  const time = new TimeWindow(nowMs, exp.clockSkewMs)
  const limits = checkTimes(time, conditions, confirmation, authn)

  const nameIdEl = firstChild(subject, NS.saml, 'NameID')
  if (nameIdEl == null) throw new errors.SamlSubject('no NameID')
  const nameId = trimmedTextOf(nameIdEl)
  if (nameId === '') throw new errors.SamlSubject('empty NameID')
  if (authn.length === 0) throw new errors.SamlSubject('no AuthnStatement')
  const classRef = firstDescendant(authn[0], ['AuthnContext', 'AuthnContextClassRef'])

  return withoutUndefined({
    responseId: attr(response, 'ID') ?? '',
    assertionId: attr(assertion, 'ID') ?? '',
    issuer,
    nameId,
    nameIdFormat: attr(nameIdEl, 'Format'),
    nameQualifier: attr(nameIdEl, 'NameQualifier'),
    spNameQualifier: attr(nameIdEl, 'SPNameQualifier'),
    sessionIndex: attr(authn[0], 'SessionIndex'),
    inResponseTo: attr(confirmation, 'InResponseTo'),
    ...limits,
    authnInstant: time.instant(authn[0], 'AuthnInstant'),
    authnContextClassRef: classRef == null ? undefined : trimmedTextOf(classRef),
    attributes: readAttributes(assertion)
  })
}

/** Conditions, the bearer confirmation, the IdP session, in that order; returns the limits. */
function checkTimes (
  time: TimeWindow, conditions: Element | null, confirmation: Element, authn: Element[]
): Pick<ValidatedAssertion, 'notOnOrAfter' | 'sessionNotOnOrAfter'> {
  const conditionsEnd = time.instant(conditions, 'NotOnOrAfter')
  time.notBefore(time.instant(conditions, 'NotBefore'), 'Conditions')
  time.notOnOrAfter(conditionsEnd, errors.SamlExpired, 'Conditions')
  const bearerEnd = time.instant(confirmation, 'NotOnOrAfter')
  if (bearerEnd == null) throw new errors.SamlSubject('the bearer SubjectConfirmationData has no NotOnOrAfter')
  time.notBefore(time.instant(confirmation, 'NotBefore'), 'SubjectConfirmationData')
  time.notOnOrAfter(bearerEnd, errors.SamlExpired, 'SubjectConfirmationData')
  const sessionEnds = authn.map((statement) => time.instant(statement, 'SessionNotOnOrAfter'))
  for (const end of sessionEnds) time.notOnOrAfter(end, errors.SamlSessionExpired, 'AuthnStatement SessionNotOnOrAfter')
  return { notOnOrAfter: Math.min(bearerEnd, conditionsEnd ?? Infinity), sessionNotOnOrAfter: sessionEnds[0] }
}

function checkIssuers (response: Element, assertion: Element, exp: ResponseExpectations): string {
  const issuerEl = firstChild(assertion, NS.saml, 'Issuer')
  const issuer = issuerEl == null ? '' : trimmedTextOf(issuerEl)
  const refuse = (received: string, element: string) =>
    withDetail(new errors.SamlIssuer(), { expected: [...exp.idpIssuers], received, element })
  if (!exp.idpIssuers.includes(issuer)) throw refuse(issuer, 'Assertion')
  const responseIssuer = firstChild(response, NS.saml, 'Issuer')
  if (responseIssuer != null && !exp.idpIssuers.includes(trimmedTextOf(responseIssuer))) throw refuse(trimmedTextOf(responseIssuer), 'Response')
  return issuer
}

/** Every AudienceRestriction must name us; Entra writes `spn:<id>` when the identifier is no URI. */
function checkAudience (conditions: Element | null, audience: string): void {
  const ours = bareAudience(audience)
  const restrictions = conditions == null ? [] : childElements(conditions, NS.saml, 'AudienceRestriction')
  if (restrictions.length === 0) throw withDetail(new errors.SamlAudience(), { expected: audience, received: 'no AudienceRestriction' })
  for (const restriction of restrictions) {
    const received = childElements(restriction, NS.saml, 'Audience').map((a) => trimmedTextOf(a))
    if (!received.map(bareAudience).includes(ours)) throw withDetail(new errors.SamlAudience(), { expected: audience, received })
  }
}

/** The bearer SubjectConfirmationData addressed to our ACS. */
function bearerConfirmation (subject: Element, acsUrl: string): Element {
  const data = childElements(subject, NS.saml, 'SubjectConfirmation')
    .filter((sc) => attr(sc, 'Method') === BEARER)
    .map((sc) => firstChild(sc, NS.saml, 'SubjectConfirmationData'))
    .filter((scd): scd is Element => scd != null)
  if (data.length === 0) throw new errors.SamlSubject('no bearer SubjectConfirmationData')
  const ours = data.find((scd) => attr(scd, 'Recipient') === acsUrl)
  if (ours == null) {
    throw withDetail(new errors.SamlRecipient(), { expected: acsUrl, received: data.map((scd) => attr(scd, 'Recipient') ?? '(no Recipient)') })
  }
  return ours
}

function firstDescendant (el: Element, path: string[]): Element | null {
  let current: Element | null = el
  for (const name of path) current = current == null ? null : firstChild(current, NS.saml, name)
  return current
}

/** Attribute Name → values, in document order, over every AttributeStatement. */
function readAttributes (assertion: Element): Record<string, string[]> {
  const attributes: Record<string, string[]> = Object.create(null)
  for (const statement of childElements(assertion, NS.saml, 'AttributeStatement')) {
    for (const attribute of childElements(statement, NS.saml, 'Attribute')) {
      const name = attr(attribute, 'Name')
      if (name == null) continue
      const values = childElements(attribute, NS.saml, 'AttributeValue').map(trimmedTextOf)
      attributes[name] = [...(attributes[name] ?? []), ...values]
    }
  }
  return attributes
}

function withoutUndefined<T extends object> (value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key]
  return value
}
