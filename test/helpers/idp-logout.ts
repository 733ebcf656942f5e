// The test IdP's logout messages: a LogoutRequest or LogoutResponse, over the Redirect binding
// (signed over the query string, percent-encoded in lower case as Entra does) or the POST binding
// (enveloped XML signature).
import crypto from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import { ATTACKER_KEY, IDP_KEY, TEST_IDP_ISSUER, esc, signXml, toBase64 } from './idp.js'

/** Entra signs its logout messages with login.microsoftonline.com/<tenant>/ as Issuer. */
export const ENTRA_LOGOUT_ISSUER = TEST_IDP_ISSUER.replace('https://sts.windows.net/', 'https://login.microsoftonline.com/')
export const SLO_URL = 'https://motion.example.com/api/auth/saml/logout/callback'

export function logoutRequestXml (o: { id?: string, issuer?: string, nameId: string, sessionIndexes?: string[], destination?: string | null, issueInstant?: string }): string {
  const destination = o.destination === null ? '' : ` Destination="${esc(o.destination ?? SLO_URL)}"`
  return `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="${esc(o.id ?? '_lr' + crypto.randomBytes(8).toString('hex'))}" Version="2.0" IssueInstant="${o.issueInstant ?? '2025-01-15T12:00:00Z'}"${destination}>` +
    `<Issuer>${esc(o.issuer ?? ENTRA_LOGOUT_ISSUER)}</Issuer>` +
    `<NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</NameID>` +
    (o.sessionIndexes ?? []).map((s) => `<samlp:SessionIndex>${esc(s)}</samlp:SessionIndex>`).join('') +
    '</samlp:LogoutRequest>'
}

export function logoutResponseXml (o: { inResponseTo: string, issuer?: string, status?: string }): string {
  return `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_resp${crypto.randomBytes(8).toString('hex')}" Version="2.0" IssueInstant="2025-01-15T12:00:00Z" Destination="${SLO_URL}" InResponseTo="${esc(o.inResponseTo)}">` +
    `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${esc(o.issuer ?? ENTRA_LOGOUT_ISSUER)}</Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status></samlp:LogoutResponse>`
}

/** Percent-encoding as Entra writes it: lower-case hex digits. */
export const lowerCaseEncode = (value: string): string => encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())
const upperCaseEncode = (value: string): string => encodeURIComponent(value)

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'

/** The query string of a Redirect-binding message: deflated, base64, signed unless `signer: 'none'`. */
export function redirectQuery (xml: string, o: { type?: 'SAMLRequest' | 'SAMLResponse', signer?: 'idp' | 'attacker' | 'none', relayState?: string, lowerCase?: boolean } = {}): string {
  const encode = o.lowerCase === false ? upperCaseEncode : lowerCaseEncode
  const type = o.type ?? 'SAMLRequest'
  let query = `${type}=${encode(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`
  if (o.relayState !== undefined) query += `&RelayState=${encode(o.relayState)}`
  if (o.signer === 'none') return query
  query += `&SigAlg=${encode(RSA_SHA256)}`
  const signature = crypto.sign('sha256', Buffer.from(query, 'utf8'), o.signer === 'attacker' ? ATTACKER_KEY : IDP_KEY)
  return `${query}&Signature=${encode(signature.toString('base64'))}`
}

/** The SAMLRequest / SAMLResponse form value of the POST binding, signed by the IdP unless told otherwise. */
export function postValue (xml: string, o: { signer?: 'idp' | 'attacker' | 'none' } = {}): string {
  if (o.signer === 'none') return toBase64(xml)
  return toBase64(signXml(xml, 'response', { signer: o.signer === 'attacker' ? 'attacker' : 'idp' }))
}
