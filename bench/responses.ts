// Pre-generated SAML responses for the bench, signed on every core by sign-worker threads.
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import type { ResponseSpec } from './sign-worker.js'

export type { ResponseSpec }

/** Signs `specs` in order, spread over `threads` worker threads. */
export async function signResponses (specs: ResponseSpec[], threads = availableParallelism()): Promise<string[]> {
  const n = Math.max(1, Math.min(threads, specs.length))
  const size = Math.ceil(specs.length / n)
  const parts = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const worker = new Worker(new URL('./sign-worker.js', import.meta.url))
    try {
      return await new Promise<string[]>((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
        worker.postMessage(specs.slice(i * size, (i + 1) * size))
      })
    } finally {
      await worker.terminate()
    }
  }))
  return parts.flat()
}

/** `count` distinct users' responses, as the validation bench uses them: valid for 30 minutes from `now`. */
export function validationSpecs (count: number, now: number): ResponseSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    nameId: `agent${i}@contoso.com`,
    inResponseTo: `_req${i}`,
    now,
    validForMs: 30 * 60_000
  }))
}
