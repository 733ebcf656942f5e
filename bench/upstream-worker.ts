// The stand-in for Motion's login endpoint, in a thread of its own: answers every handoff as
// Motion would (302 and its own cookie) and verifies the identity header of one handoff in
// `verifyEvery` with the package's verifier, so that the bench proves the handoffs are real
// without charging a full verification per request to the machine the gateway runs on.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parentPort, workerData } from 'node:worker_threads'
import { verifyIdentity } from '../src/identity/verify.js'

export interface UpstreamData { issuer: string, verifyEvery: number }
export type UpstreamCommand = { cmd: 'jwks', jwks: { keys: unknown[] } } | { cmd: 'counts' }
export interface UpstreamCounts { handoffs: number, verified: number, identityErrors: number, firstError?: string }

const { issuer, verifyEvery } = workerData as UpstreamData
let jwks: { keys: unknown[] } = { keys: [] }
const counts: UpstreamCounts = { handoffs: 0, verified: 0, identityErrors: 0 }
let url = ''

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const n = counts.handoffs++
    const answer = (): void => {
      res.writeHead(302, { location: '/welcome', 'set-cookie': 'motion_session=abc; Path=/; HttpOnly' })
      res.end()
    }
    if (n % verifyEvery !== 0) return answer()
    verifyIdentity(req.headers, { issuer, audience: new URL(url).origin, method: req.method ?? 'POST', url, jwks: jwks as never })
      .then(() => { counts.verified++ }, (err: Error & { code?: string }) => {
        counts.identityErrors++
        counts.firstError ??= err.code ?? err.message
      })
      .finally(answer)
  })
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/login/saml`
  parentPort!.postMessage({ url })
})
parentPort!.on('message', (command: UpstreamCommand) => {
  if (command.cmd === 'jwks') {
    jwks = command.jwks
    parentPort!.postMessage({})
  } else {
    parentPort!.postMessage({ ...counts })
  }
})
