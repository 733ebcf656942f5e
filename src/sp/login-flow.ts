// The SP side of Web SSO, free of HTTP framework concerns: start a login (AuthnRequest remembered
// and bound to the browser) and finish one (validated response, replay cache, InResponseTo
// consumed once). Routes call these and only answer.
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { errors } from '../errors.js'
import type { GatewayStore } from '../session/store.js'
import type { SessionUser } from '../session/store.js'
import { toSessionUser, type ClaimOptions } from './claims.js'
import type { OutgoingMessage, SamlEntities } from './write/entities.js'
import { createLoginRequest } from './write/authn-request.js'
import { safeReturnTo } from './return-to.js'
import type { ResponseExpectations, ValidatedAssertion } from './types.js'
import { isSamlMessageField, sentLength, type SamlMessageField } from './read/form-value.js'

/** How long an AuthnRequest stays answerable: Entra sign-in with MFA can take minutes. */
export const AUTHN_REQUEST_TTL_MS = 15 * 60_000

/**
 * At most this many outstanding AuthnRequests in the store, all browsers together: a flood of
 * login clicks (no cookie needed) cannot fill the store; past the bound the oldest go first, so a
 * person who is signing in right now is dropped only by a flood faster than bound / (their time
 * at the IdP): 10,000 in 30 s, which the default GATEWAY_RATE_LIMIT (1200/min) makes ~17 addresses.
 * An entry is under 2.5 kB (returnTo is at most 2,048 characters), so the bound is ~25 MB at worst.
 */
export const MAX_OUTSTANDING_AUTHN_REQUESTS = 10_000

/**
 * A SAML_DECRYPTION failure is answered no sooner than this after validation began: the work done
 * between decryption and the assertion's signature depends on the plaintext (bad padding stops
 * early, a well-formed plaintext goes on to the schema and the signature), so its duration must
 * not show. Well above that work (measured in test/sp/read/decryption-oracle.test.ts), it costs a
 * failing request a wait, never CPU; a successful login is not delayed.
 */
export function decryptionFailureFloorMs (messageChars: number): number {
  return 100 + Math.ceil(messageChars / 1024) * 0.5
}

export type ResponseValidator = (samlResponse: SamlMessageField, exp: ResponseExpectations, nowMs: number) => ValidatedAssertion | Promise<ValidatedAssertion>

export interface LoginFlowOptions {
  store: GatewayStore
  entities: SamlEntities
  expectations: ResponseExpectations
  validate: ResponseValidator
  claims: ClaimOptions
  allowIdpInitiated: boolean
  publicOrigin: string
  now: () => number
  /** Default MAX_OUTSTANDING_AUTHN_REQUESTS. */
  maxOutstandingRequests?: number
  /** Default decryptionFailureFloorMs (tests). */
  decryptionFailureFloorMs?: (messageChars: number) => number
  /** Told when the bound dropped outstanding requests (to log it). */
  onRequestsDropped?: (dropped: number) => void
}

interface OutstandingRequest {
  /** The browser binding the request was made from. */
  b: string
  /** Where to land afterwards. */
  r?: string
}

export interface LoginResult {
  user: SessionUser
  assertion: ValidatedAssertion
  returnTo?: string
  idpInitiated: boolean
}

export class LoginFlow {
  constructor (private readonly opts: LoginFlowOptions) {}

  /** The AuthnRequest on its way to the IdP (a redirect or a form to post); its ID is remembered for this browser. */
  async begin (input: { browserBinding: string, returnTo?: string, forceAuthn?: boolean }): Promise<{ requestId: string, message: OutgoingMessage }> {
    const { id, message } = createLoginRequest(this.opts.entities, { forceAuthn: input.forceAuthn })
    const outstanding: OutstandingRequest = { b: input.browserBinding, r: safeReturnTo(input.returnTo, this.opts.publicOrigin) }
    const dropped = await this.opts.store.putOnceBounded('authn', id, JSON.stringify(outstanding), AUTHN_REQUEST_TTL_MS,
      this.opts.maxOutstandingRequests ?? MAX_OUTSTANDING_AUTHN_REQUESTS)
    if (dropped > 0) this.opts.onRequestsDropped?.(dropped)
    return { requestId: id, message }
  }

  /**
   * Every check of a login response: the stateless ones (signature, issuer, audience, recipient,
   * time) by `validate`, then the replay cache and InResponseTo against this browser's requests.
   * Throws a SAML_* error on the first that fails.
   */
  async complete (input: { samlResponse: unknown, relayState?: unknown, browserBinding?: string }): Promise<LoginResult> {
    if (!isSamlMessageField(input.samlResponse)) throw new errors.SamlMissingMessage()
    const samlResponse = input.samlResponse
    const { store, expectations, now } = this.opts
    const nowMs = now()
    const started = performance.now()
    let assertion: ValidatedAssertion
    try {
      assertion = await this.opts.validate(samlResponse, expectations, nowMs)
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SAML_DECRYPTION') {
        const floor = this.opts.decryptionFailureFloorMs ?? decryptionFailureFloorMs
        const wait = started + floor(sentLength(samlResponse)) - performance.now()
        if (wait > 0) await sleep(wait)
      }
      throw err
    }

    // The replay cache first: a second post of one response is a replay, whatever else it is.
    const firstUse = await store.markAssertionUsed(assertion.assertionId, assertion.notOnOrAfter + expectations.clockSkewMs)
    if (!firstUse) throw new errors.SamlReplay()

    let returnTo: string | undefined
    if (assertion.inResponseTo !== undefined) {
      const raw = await store.takeOnce('authn', assertion.inResponseTo)
      const outstanding = raw === null ? undefined : JSON.parse(raw) as OutstandingRequest
      if (outstanding === undefined || input.browserBinding === undefined || outstanding.b !== input.browserBinding) {
        throw new errors.SamlInResponseTo()
      }
      returnTo = outstanding.r
    } else if (!this.opts.allowIdpInitiated) {
      throw new errors.SamlUnsolicited()
    }
    // RelayState is only ever a place to land, and only on this site.
    returnTo ??= safeReturnTo(input.relayState, this.opts.publicOrigin)

    return {
      user: toSessionUser(assertion, this.opts.claims, nowMs),
      assertion,
      returnTo,
      idpInitiated: assertion.inResponseTo === undefined
    }
  }
}
