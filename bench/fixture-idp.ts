// A test IdP that writes Entra-shaped SAML responses and signs them with fixtures/idp.key (or the
// attacker's key). Every field can be overridden; the lower-level pieces are exported for attack
// tests that need to edit the XML between building and signing, or after signing.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignedXml } from 'xml-crypto'
import type { ResponseExpectations, ValidationSettings } from '../src/sp/types.js'
import { ENTRA_CLAIM } from '../src/sp/entra.js'

/** The repository root: the nearest directory with package.json (works from test/ and dist/test/). */
function repoRoot (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    if (path.dirname(dir) === dir) throw new Error('no package.json above the fixture IdP')
    dir = path.dirname(dir)
  }
  return dir
}

export const REPO_ROOT = repoRoot()
const fixture = (name: string): string => fs.readFileSync(path.join(REPO_ROOT, 'fixtures', name), 'utf8')
export const IDP_KEY = fixture('idp.key')
export const IDP_CERT = fixture('idp.crt')
export const ATTACKER_KEY = fixture('attacker.key')
export const ATTACKER_CERT = fixture('attacker.crt')

export const TEST_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
export const TEST_IDP_ISSUER = `https://sts.windows.net/${TEST_TENANT}/`
export const TEST_SP_ENTITY_ID = 'https://motion.example.com'
export const TEST_ACS = 'https://motion.example.com/api/auth/saml/callback'
export const TEST_NAME_ID = 'alice@contoso.com'
export const TEST_REQUEST_ID = '_a1b2c3d4e5f6a7b8c9d0'
/** A fixed instant: 2025-01-15T12:00:00.000Z. Tests pass it (or an offset of it) as nowMs. */
export const TEST_NOW = Date.UTC(2025, 0, 15, 12, 0, 0)

/** Entra's claim URIs (src/sp/entra.ts). */
export const CLAIM = ENTRA_CLAIM

/** Ten claims, as an Entra enterprise app sends them by default plus email and groups. */
export function entraClaims (nameId = TEST_NAME_ID): Record<string, string[]> {
  return {
    [CLAIM.tenantId]: [TEST_TENANT],
    [CLAIM.objectId]: ['0f8fad5b-d9cb-469f-a165-70867728950e'],
    [CLAIM.displayName]: ['Alice Example'],
    [CLAIM.identityProvider]: [TEST_IDP_ISSUER],
    [CLAIM.authnMethods]: ['http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password'],
    [CLAIM.email]: [nameId],
    [CLAIM.givenName]: ['Alice'],
    [CLAIM.surname]: ['Example'],
    [CLAIM.name]: [nameId],
    [CLAIM.groups]: ['7b0c9a51-4c55-4a3c-9d3a-1f0e5d1c2b3a', 'a3d4f1e2-0b6c-4d8e-9f7a-2c1b0e9d8f6a']
  }
}

/** Offsets in ms from `now`; null leaves the attribute out. */
export interface ResponseTimes {
  issueInstant: number
  notBefore: number | null
  notOnOrAfter: number | null
  scdNotBefore: number | null
  scdNotOnOrAfter: number | null
  authnInstant: number
  sessionNotOnOrAfter: number | null
}

const DEFAULT_TIMES: ResponseTimes = {
  issueInstant: 0,
  notBefore: 0, // Entra: NotBefore = IssueInstant, no margin
  notOnOrAfter: 3_600_000,
  scdNotBefore: null,
  scdNotOnOrAfter: 300_000,
  authnInstant: -1_000,
  sessionNotOnOrAfter: null
}

export type SignWhat = 'assertion' | 'response' | 'both' | 'none'

export interface SignOptions {
  algorithm?: 'sha256' | 'sha1'
  /** Whose private key signs. */
  signer?: 'idp' | 'attacker'
  /** Put the signer's certificate in KeyInfo (Entra does). */
  keyInfo?: boolean
}

export interface ResponseOptions extends SignOptions {
  now?: number
  /** The assertion's Issuer. */
  issuer?: string
  /** The Response's Issuer; null leaves it out. Defaults to `issuer`. */
  responseIssuer?: string | null
  /** One AudienceRestriction with these audiences; null leaves Conditions without one. */
  audience?: string | string[] | null
  recipient?: string | null
  destination?: string | null
  /** Sets both InResponseTo attributes unless the specific ones are given. */
  inResponseTo?: string | null
  responseInResponseTo?: string | null
  scdInResponseTo?: string | null
  responseId?: string
  assertionId?: string
  /** Raw XML inside <NameID> (so a test can put a comment in it); null leaves NameID out. */
  nameIdXml?: string | null
  nameIdFormat?: string | null
  /** NameQualifier and SPNameQualifier of the NameID (Lasso, Shibboleth and SimpleSAMLphp set them). */
  nameQualifier?: string
  spNameQualifier?: string
  subjectConfirmationMethod?: string
  sessionIndex?: string | null
  authnContextClassRef?: string
  /** null leaves the AttributeStatement out. */
  attributes?: Record<string, string[]> | null
  status?: string
  subStatus?: string
  statusMessage?: string
  times?: Partial<ResponseTimes>
  sign?: SignWhat
  /** Applied to the XML after signing (tampering, wrapping). */
  afterSigning?: (xml: string) => string
}

export const esc = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const iso = (ms: number): string => new Date(ms).toISOString()
const opt = (name: string, value: string | null | undefined): string => value == null ? '' : ` ${name}="${esc(value)}"`
const at = (now: number, offset: number | null): string | null => offset == null ? null : iso(now + offset)
const newId = (): string => `_${crypto.randomUUID()}`

/** The unsigned Entra-shaped samlp:Response. */
export function buildUnsignedXml (o: ResponseOptions = {}): string {
  const now = o.now ?? TEST_NOW
  const t = { ...DEFAULT_TIMES, ...o.times }
  const issuer = o.issuer ?? TEST_IDP_ISSUER
  const responseIssuer = o.responseIssuer === undefined ? issuer : o.responseIssuer
  const nameId = o.nameIdXml === undefined ? esc(TEST_NAME_ID) : o.nameIdXml
  const audiences = o.audience === undefined ? [TEST_SP_ENTITY_ID] : o.audience == null ? [] : [o.audience].flat()
  const inResponseTo = o.inResponseTo === undefined ? TEST_REQUEST_ID : o.inResponseTo
  const responseInResponseTo = o.responseInResponseTo === undefined ? inResponseTo : o.responseInResponseTo
  const scdInResponseTo = o.scdInResponseTo === undefined ? inResponseTo : o.scdInResponseTo
  const attributes = o.attributes === undefined ? entraClaims() : o.attributes
  const status = o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'
  const sessionIndex = o.sessionIndex === undefined ? `_${crypto.randomUUID()}` : o.sessionIndex

  const statusXml = `<samlp:Status><samlp:StatusCode Value="${esc(status)}">` +
    (o.subStatus == null ? '' : `<samlp:StatusCode Value="${esc(o.subStatus)}"/>`) + '</samlp:StatusCode>' +
    (o.statusMessage == null ? '' : `<samlp:StatusMessage>${esc(o.statusMessage)}</samlp:StatusMessage>`) +
    '</samlp:Status>'
  const nameIdXml = nameId == null
    ? ''
    : `<NameID${opt('NameQualifier', o.nameQualifier)}${opt('SPNameQualifier', o.spNameQualifier)}${opt('Format', o.nameIdFormat === undefined ? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' : o.nameIdFormat)}>${nameId}</NameID>`
  const subject = `<Subject>${nameIdXml}` +
    `<SubjectConfirmation Method="${esc(o.subjectConfirmationMethod ?? 'urn:oasis:names:tc:SAML:2.0:cm:bearer')}">` +
    `<SubjectConfirmationData${opt('InResponseTo', scdInResponseTo)}${opt('NotBefore', at(now, t.scdNotBefore))}` +
    `${opt('NotOnOrAfter', at(now, t.scdNotOnOrAfter))}${opt('Recipient', o.recipient === undefined ? TEST_ACS : o.recipient)}/>` +
    '</SubjectConfirmation></Subject>'
  const conditions = `<Conditions${opt('NotBefore', at(now, t.notBefore))}${opt('NotOnOrAfter', at(now, t.notOnOrAfter))}>` +
    (audiences.length === 0 ? '' : `<AudienceRestriction>${audiences.map((a) => `<Audience>${esc(a)}</Audience>`).join('')}</AudienceRestriction>`) +
    '</Conditions>'
  const attributeStatement = attributes == null
    ? ''
    : `<AttributeStatement>${Object.entries(attributes).map(([name, values]) =>
      `<Attribute Name="${esc(name)}">${values.map((v) => `<AttributeValue>${esc(v)}</AttributeValue>`).join('')}</Attribute>`).join('')}</AttributeStatement>`
  const authn = `<AuthnStatement AuthnInstant="${at(now, t.authnInstant)}"${opt('SessionNotOnOrAfter', at(now, t.sessionNotOnOrAfter))}${opt('SessionIndex', sessionIndex)}>` +
    `<AuthnContext><AuthnContextClassRef>${esc(o.authnContextClassRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password')}</AuthnContextClassRef></AuthnContext></AuthnStatement>`

  return `<samlp:Response ID="${esc(o.responseId ?? newId())}" Version="2.0" IssueInstant="${at(now, t.issueInstant)}"` +
    `${opt('Destination', o.destination === undefined ? TEST_ACS : o.destination)}${opt('InResponseTo', responseInResponseTo)}` +
    ' xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">' +
    (responseIssuer == null ? '' : `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${esc(responseIssuer)}</Issuer>`) +
    statusXml +
    `<Assertion ID="${esc(o.assertionId ?? newId())}" IssueInstant="${at(now, t.issueInstant)}" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` +
    `<Issuer>${esc(issuer)}</Issuer>${subject}${conditions}${attributeStatement}${authn}</Assertion></samlp:Response>`
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
const ALGORITHMS = {
  sha256: { signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
  sha1: { signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1' }
} as const

/**
 * Signs the Assertion or the Response root of `xml` (an enveloped signature placed right after
 * its Issuer, as the schema wants), the way Entra does: exclusive c14n, X509Certificate in KeyInfo.
 */
export function signXml (xml: string, target: 'assertion' | 'response', o: SignOptions = {}): string {
  const algorithm = ALGORITHMS[o.algorithm ?? 'sha256']
  const attacker = o.signer === 'attacker'
  const sig = new SignedXml({
    privateKey: attacker ? ATTACKER_KEY : IDP_KEY,
    publicCert: o.keyInfo === false ? undefined : attacker ? ATTACKER_CERT : IDP_CERT,
    signatureAlgorithm: algorithm.signature,
    canonicalizationAlgorithm: EXC_C14N
  })
  const element = target === 'assertion' ? "//*[local-name(.)='Assertion']" : '/*'
  sig.addReference({
    xpath: element,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N],
    digestAlgorithm: algorithm.digest
  })
  sig.computeSignature(xml, {
    location: { reference: `${element}/*[local-name(.)='Issuer']`, action: 'after' }
  })
  return sig.getSignedXml()
}

/** The signed (per `o.sign`, default the assertion only, like Entra) response XML. */
export function buildResponseXml (o: ResponseOptions = {}): string {
  const sign = o.sign ?? 'assertion'
  let xml = buildUnsignedXml(o)
  if (sign === 'assertion' || sign === 'both') xml = signXml(xml, 'assertion', o)
  if (sign === 'response' || sign === 'both') xml = signXml(xml, 'response', o)
  return o.afterSigning == null ? xml : o.afterSigning(xml)
}

export const toBase64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64')

/** The SAMLResponse form value: base64 of buildResponseXml(o). */
export function buildResponse (o: ResponseOptions = {}): string {
  return toBase64(buildResponseXml(o))
}

/** Expectations that accept buildResponse() at TEST_NOW. */
/** The validation settings of a default configuration, with inline validation. */
export const TEST_VALIDATION: ValidationSettings = {
  clockSkewMs: 180_000,
  allowIdpInitiated: true,
  wantAssertionsSigned: true,
  allowSha1: false,
  allow3des: false,
  requireSignedLogout: true,
  maxMessageBytes: 256 * 1024,
  workers: 0
}

export function testExpectations (overrides: Partial<ResponseExpectations> = {}): ResponseExpectations {
  return {
    idpIssuers: [TEST_IDP_ISSUER],
    idpCerts: [IDP_CERT],
    audience: TEST_SP_ENTITY_ID,
    acsUrl: TEST_ACS,
    ...TEST_VALIDATION,
    ...overrides
  }
}
