// A too-large body gets its answer. Fastify answers 413 as soon as the limit is passed, with
// `Connection: close`, and Node closes the socket as soon as the answer is written, while the
// client is still sending: closing a socket with unread data sends a reset, and the client's
// kernel, handed a reset, drops the answer it has not read yet. A browser shows "connection reset"
// (curl: EPIPE) instead of the page. Here the answer goes out, the connection is only half-closed,
// and the rest of the body is read and thrown away, up to a bound in bytes and in time; then the
// socket closes, with nothing unread, so the client reads its answer.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ownsItsMemory, release } from './release-body.js'

/** How much more of a refused body is read (and dropped) so that the client can read the answer. */
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024
export const DRAIN_MAX_MS = 10_000

export function drainAfterAnswer (request: FastifyRequest, _reply: FastifyReply, limits = { bytes: DRAIN_MAX_BYTES, ms: DRAIN_MAX_MS }): void {
  const req = request.raw
  const socket = req.socket
  // light-my-request (inject) has no real socket: nothing to keep open there.
  if (req.complete || req.destroyed || typeof socket?.destroy !== 'function') return
  // Node ends a `Connection: close` response with socket.destroySoon(): the write side only, here.
  socket.destroySoon = function halfClose () { this.end() }
  let drained = 0
  const close = (): void => {
    clearTimeout(timer)
    req.off('data', onData)
    socket.destroy()
  }
  const timer = setTimeout(close, limits.ms).unref()
  const onData = (chunk: Buffer): void => {
    drained += chunk.length
    if (ownsItsMemory(chunk)) release([chunk.buffer as ArrayBuffer])
    if (drained > limits.bytes) close()
  }
  req.on('data', onData)
  req.once('end', close)
  req.once('close', () => clearTimeout(timer))
  req.resume()
}
