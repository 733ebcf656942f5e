// A bench thread that runs one validator over a batch of responses and reports how long it took.
// One thread per implementation: each has its own heap and JIT, as a process of its own would.
import crypto from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml'
import { validateLoginResponse } from '../src/sp/read/response.js'
import { initSchemaValidator } from '../src/sp/read/schema.js'
import {
  IDP_CERT, IDP_KEY, TEST_ACS, TEST_IDP_ISSUER, TEST_SP_ENTITY_ID, TEST_TENANT, testExpectations
} from './fixture-idp.js'

export type Implementation = 'ours' | 'node-saml' | 'rsa'

export interface ValidationWorkerData {
  impl: Implementation
  responses: string[]
  /** The instant our validator is told it is (node-saml reads the real clock). */
  nowMs: number
}

export interface RunRequest { from: number, to: number }
export interface RunResult { ms: number, ok: number, failed: number, firstError?: string }

const { impl, responses, nowMs } = workerData as ValidationWorkerData

/** Configured as close to ours as node-saml allows; it has no XSD and no Destination check. */
function nodeSaml (): SAML {
  return new SAML({
    callbackUrl: TEST_ACS,
    entryPoint: `https://login.microsoftonline.com/${TEST_TENANT}/saml2`,
    issuer: TEST_SP_ENTITY_ID,
    audience: TEST_SP_ENTITY_ID,
    idpCert: IDP_CERT,
    idpIssuer: TEST_IDP_ISSUER,
    acceptedClockSkewMs: 180_000,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.never
  })
}

/** RSA-2048 PKCS#1 v1.5 SHA-256 verify of a SignedInfo-sized message: the floor of one login. */
function rsaFloor (): () => boolean {
  const key = crypto.createPublicKey(IDP_CERT)
  const data = Buffer.alloc(620, 'x')
  const signature = crypto.sign('sha256', data, IDP_KEY)
  return () => crypto.verify('sha256', data, key, signature)
}

async function run ({ from, to }: RunRequest): Promise<RunResult> {
  let ok = 0
  let failed = 0
  let firstError: string | undefined
  const fail = (err: unknown): void => {
    failed++
    firstError ??= String((err as Error).message ?? err)
  }
  const start = performance.now()
  for (let i = from; i < to; i++) {
    const b64 = responses[i % responses.length]
    try {
      if (impl === 'ours') validateLoginResponse(b64, exp, nowMs)
      else if (saml !== undefined) await saml.validatePostResponseAsync({ SAMLResponse: b64 })
      else if (verify?.() !== true) throw new Error('RSA verify failed')
      ok++
    } catch (err) {
      fail(err)
    }
  }
  return { ms: performance.now() - start, ok, failed, firstError }
}

// Everything that is done once per process is done here, before any run is timed.
const exp = testExpectations()
const saml = impl === 'node-saml' ? nodeSaml() : undefined
const verify = impl === 'rsa' ? rsaFloor() : undefined
if (impl === 'ours') initSchemaValidator()
parentPort!.on('message', async (request: RunRequest) => {
  parentPort!.postMessage(await run(request))
})
parentPort!.postMessage('ready')
