// A request body's memory goes back as soon as its answer is out, not at V8's next collection.
//
// Node hands each piece of a body to JavaScript in a buffer of its own, outside V8's heap. V8
// frees such a buffer only when a collection finds it dead, and counts every byte of them not yet
// freed toward its next full (mark-compact) collection of the main thread. A body is mostly such
// buffers and hardly any heap, so few minor collections come to free them: one client posting
// ~350 KB bodies at the rate limit's pace made the event loop stop for a full collection (5–15 ms)
// every second, and /health's p99 twice its idle figure (BENCHMARKS.md, parser bombs). Detaching a
// buffer (moving it into a message that nobody receives) frees its memory at once and takes it
// out of V8's count.
//
// Only a buffer that holds a body's bytes and nothing else is released: the form parser reads a
// body into such buffers and names them with the body it made (src/http/form.ts; its SAML fields
// are views of them), and the pieces of a body nobody read (a request refused before its body was
// parsed) come in such buffers.
import { Socket } from 'node:net'
import { MessageChannel } from 'node:worker_threads'
import type { FastifyRequest } from 'fastify'

const { port1: nowhere, port2 } = new MessageChannel()
port2.close()

/** A buffer that is one piece of a body, whole: it holds nothing else. */
export function ownsItsMemory (piece: Uint8Array): boolean {
  return piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength && piece.buffer instanceof ArrayBuffer
}

/** The pieces each parsed body was read from (src/http/form.ts), freed once it is answered. */
const bodyPieces = new WeakMap<object, Uint8Array[]>()

/** `pieces` hold `body`'s bytes and nothing else (each owns its memory): free them with its answer. */
export function releaseWithAnswer (body: object, pieces: Uint8Array[]): void {
  bodyPieces.set(body, pieces)
}

/** Frees these buffers' memory now; any view of them reads as empty from then on. */
export function release (buffers: Iterable<ArrayBuffer>): void {
  const live = [...new Set(buffers)].filter((buffer) => buffer.byteLength > 0)
  if (live.length === 0) return
  try {
    nowhere.postMessage(null, live)
  } catch {
    // A buffer Node marked as not to be moved: Node 20 leaves it where it is and moves the others,
    // later versions refuse the whole list, which is then left to the collector.
  }
}

/**
 * An onSend hook: the pieces a form body was parsed from are released, and a body nobody read (a
 * request refused before its body was parsed: 429, 404, 413) is read now, each piece released as
 * it comes. Node would read and drop it anyway, to reach the next request on the connection, but
 * in buffers left to the collector.
 */
export function releaseBody<P> (request: FastifyRequest, _reply: unknown, payload: P, done: (err: null, payload: P) => void): void {
  // Only what Node read off a connection: a body injected in-process (tests, light-my-request) may
  // be the caller's own buffer.
  if (!(request.raw.socket instanceof Socket)) return done(null, payload)
  const body = request.body
  const pieces = typeof body === 'object' && body !== null ? bodyPieces.get(body) : undefined
  if (pieces !== undefined) release(pieces.map((piece) => piece.buffer as ArrayBuffer))
  const req = request.raw
  if (!req.complete && !req.destroyed && req.listenerCount('data') === 0) {
    req.on('data', (chunk: Buffer) => {
      if (ownsItsMemory(chunk)) release([chunk.buffer as ArrayBuffer])
    })
  }
  done(null, payload)
}
