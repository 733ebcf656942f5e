// Every error the gateway can answer with, in one place. Each has a stable code (what operators
// grep for and what a user quotes to the help desk) and an HTTP status. SAML rejections are all
// 4xx; only a failing store (503) or upstream (502) is not the client's fault.
import createError from '@fastify/error'

const saml = (code: string, message: string, status = 400) => createError(code, message, status)

export const errors = {
  // Shape and size of the message.
  SamlTooLarge: saml('SAML_TOO_LARGE', 'The SAML message is larger than allowed', 413),
  SamlMalformed: saml('SAML_MALFORMED', 'The SAML message is not valid base64 or XML: %s'),
  SamlDoctype: saml('SAML_DOCTYPE', 'The SAML message carries a DOCTYPE or entity declaration'),
  SamlTooComplex: saml('SAML_TOO_COMPLEX', 'The SAML message is nested or repeated beyond what SAML needs: %s'),
  SamlSchema: saml('SAML_SCHEMA', 'The SAML message does not follow the SAML 2.0 schema: %s'),
  SamlNotResponse: saml('SAML_NOT_RESPONSE', 'Expected a samlp:%s message'),
  SamlAssertionCount: saml('SAML_ASSERTION_COUNT', 'The response must carry exactly one assertion'),
  SamlEncrypted: saml('SAML_ENCRYPTED', 'The assertion is encrypted and no SP key is configured to decrypt it'),
  // Every failure from decrypting up to the decrypted assertion's signature: one code, one wording.
  SamlDecryption: saml('SAML_DECRYPTION', 'The encrypted assertion could not be decrypted and verified: %s'),
  SamlStatus: saml('SAML_STATUS', 'The IdP did not authenticate the user: %s', 401),
  // Signature.
  SamlSignature: saml('SAML_SIGNATURE', 'The signature does not verify with the IdP certificate: %s'),
  SamlUnsignedAssertion: saml('SAML_UNSIGNED_ASSERTION', 'The assertion itself is not signed'),
  SamlWeakAlgorithm: saml('SAML_WEAK_ALGORITHM', 'The message uses a weak or unsupported algorithm: %s'),
  // What the signed assertion says.
  SamlIssuer: saml('SAML_ISSUER', 'The issuer is not the configured IdP'),
  SamlAudience: saml('SAML_AUDIENCE', 'The assertion is not meant for this service provider'),
  SamlDestination: saml('SAML_DESTINATION', 'The response Destination is not this ACS'),
  SamlRecipient: saml('SAML_RECIPIENT', 'The SubjectConfirmationData Recipient is not this ACS'),
  SamlSubject: saml('SAML_SUBJECT', 'The assertion has no usable subject: %s'),
  SamlNotYetValid: saml('SAML_NOT_YET_VALID', 'The assertion is not valid yet'),
  SamlExpired: saml('SAML_EXPIRED', 'The assertion has expired'),
  SamlSessionExpired: saml('SAML_SESSION_EXPIRED', 'The IdP session of the assertion has ended'),
  SamlInResponseTo: saml('SAML_IN_RESPONSE_TO', 'The response answers no login request made by this browser'),
  SamlUnsolicited: saml('SAML_UNSOLICITED', 'IdP-initiated login is disabled'),
  SamlReplay: saml('SAML_REPLAY', 'This assertion has already been used'),
  SamlMissingMessage: saml('SAML_MISSING_MESSAGE', 'No SAML message in the request'),
  // Logout.
  SamlLogoutIssuer: saml('SAML_LOGOUT_ISSUER', 'The logout message does not come from the configured IdP'),
  SamlLogoutUnsigned: saml('SAML_LOGOUT_UNSIGNED', 'The logout message is not signed'),
  SamlLogoutInResponseTo: saml('SAML_LOGOUT_IN_RESPONSE_TO', 'The logout response answers no logout request of ours'),
  // Browser-facing.
  BadRequest: createError('BAD_REQUEST', 'Bad request: %s', 400),
  SessionRequired: createError('SESSION_REQUIRED', 'No gateway session', 401),
  CsrfToken: createError('CSRF_TOKEN', 'The form token is missing or wrong', 403),
  AuthSubrequestOnly: createError('AUTH_SUBREQUEST_ONLY', 'Only the web server in front of the gateway may ask for an identity', 403),
  RateLimited: createError('RATE_LIMITED', 'Too many sign-in requests from this address: try again in %s', 429),
  // Not the client's fault.
  StoreUnavailable: createError('STORE_UNAVAILABLE', 'The session store is unavailable', 503)
} as const

export type GatewayError = Error & { code: string; statusCode?: number; detail?: RejectionDetail }

/**
 * What an administrator needs to see in the log beside a code: the value expected and the value
 * received (audience, destination, recipient, issuer), times beside the gateway's clock, which
 * element was signed. Short values only, never the message itself; pages never show it.
 */
export type RejectionDetail = Record<string, string | number | boolean | string[]>

const DETAIL_MAX = 200

/** `err` with `detail` attached, each value cut to a sane length; returns `err` for `throw`. */
export function withDetail<E extends Error> (err: E, detail: Record<string, string | number | boolean | string[] | undefined>): E & { detail: RejectionDetail } {
  const cut = (v: string) => v.length > DETAIL_MAX ? `${v.slice(0, DETAIL_MAX)}…` : v
  const clean: RejectionDetail = {}
  for (const [key, value] of Object.entries(detail)) {
    if (value === undefined) continue
    clean[key] = typeof value === 'string' ? cut(value) : Array.isArray(value) ? value.slice(0, 10).map(cut) : value
  }
  return Object.assign(err, { detail: clean })
}

export function isSamlRejection (err: unknown): boolean {
  const code = (err as GatewayError | null)?.code
  return typeof code === 'string' && code.startsWith('SAML_')
}

// What a person or client is shown: each code's own wording, never the detail a message carries
// (an attacker's Algorithm URI, StatusMessage or schema complaint). The detail stays in the log.
const DETAIL = '\u0000detail\u0000'
const WORDING_OVERRIDES: Record<string, string> = {
  SAML_NOT_RESPONSE: 'The SAML message is not of the kind this endpoint takes',
  RATE_LIMITED: 'Too many sign-in requests from this address: try again later'
}
const WORDING = new Map<string, string>()
for (const Ctor of Object.values(errors) as unknown as Array<new (detail: string) => GatewayError>) {
  const sample = new Ctor(DETAIL)
  const cut = sample.message.indexOf(DETAIL)
  const wording = cut === -1 ? sample.message : sample.message.slice(0, cut).replace(/(?::\s*|\s+in\s*|\s+)$/, '')
  WORDING.set(sample.code, WORDING_OVERRIDES[sample.code] ?? wording)
}

/** The fixed wording of `code`; undefined for a code not in the table. */
export function publicMessage (code: string): string | undefined {
  return WORDING.get(code)
}

/** A detail fit for a log line: control characters escaped, at most `max` characters. */
export function logSafe (detail: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const escaped = detail.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped
}
