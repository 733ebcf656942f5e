// What src/sp needs to know and what it hands back. Plain data: no Fastify, no store.
import type { Config } from '../config/index.js'

/**
 * The validation settings as configured (clock skew, signatures wanted, algorithms allowed, size
 * limit, …), handed to the checks whole: a new one reaches them without wiring in between.
 */
export type ValidationSettings = Config['validation']

/** What a login response must match. Built once from Config at boot. */
export interface ResponseExpectations extends ValidationSettings {
  /** Accepted IdP entity IDs (Entra: https://sts.windows.net/<tenant>/). */
  idpIssuers: readonly string[]
  /** IdP signing certificates, PEM. Any one of them may verify. */
  idpCerts: readonly string[]
  /** Our entity ID (XC_SAML_ISSUER). `spn:<id>` is accepted too, as Entra writes it. */
  audience: string
  /** Our ACS URL: Destination and Recipient must equal it. */
  acsUrl: string
  /** GATEWAY_SP_KEY (PEM): decrypts EncryptedAssertions. Without it they are refused. */
  decryptionKey?: string
}

/** Everything the gateway uses from a validated assertion, read from the signed element only. */
export interface ValidatedAssertion {
  responseId: string
  assertionId: string
  issuer: string
  nameId: string
  nameIdFormat?: string
  /** NameQualifier and SPNameQualifier of the NameID: a LogoutRequest must send them back as they came. */
  nameQualifier?: string
  spNameQualifier?: string
  sessionIndex?: string
  /** From the signed SubjectConfirmationData; absent for IdP-initiated responses. */
  inResponseTo?: string
  /** Latest instant the assertion may be used (min of the bearer and Conditions limits). Epoch ms. */
  notOnOrAfter: number
  /** SessionNotOnOrAfter of the AuthnStatement, epoch ms. */
  sessionNotOnOrAfter?: number
  authnInstant?: number
  authnContextClassRef?: string
  /** Attribute name → values, in document order. */
  attributes: Record<string, string[]>
}
