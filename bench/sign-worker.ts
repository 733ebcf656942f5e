// A bench helper thread: signs Entra-shaped responses with test/helpers/idp.ts (the builder the
// tests use), so that two cores share the signing while the gateway is idle.
import { parentPort } from 'node:worker_threads'
import { buildResponse, entraClaims } from './fixture-idp.js'

export interface ResponseSpec {
  nameId: string
  /** The AuthnRequest ID this answers; null: IdP-initiated. */
  inResponseTo: string | null
  /** Issue instant, epoch ms. */
  now: number
  /** Validity of the bearer confirmation, ms (Entra: 5 minutes). */
  validForMs: number
}

export function signResponse (spec: ResponseSpec): string {
  return buildResponse({
    now: spec.now,
    nameIdXml: spec.nameId,
    attributes: entraClaims(spec.nameId),
    inResponseTo: spec.inResponseTo,
    times: { scdNotOnOrAfter: spec.validForMs, notOnOrAfter: Math.max(spec.validForMs, 3_600_000) }
  })
}

parentPort?.on('message', (specs: ResponseSpec[]) => {
  parentPort!.postMessage(specs.map(signResponse))
})
