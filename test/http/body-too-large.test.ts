// A too-large body always gets its answer: 413 SAML_TOO_LARGE, read by a client that is still
// sending, never a reset (EPIPE/ECONNRESET) because the gateway closed the connection under it.
import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { buildTestApp } from '../helpers/app.js'

/** Sends a POST of `size` bytes the way a browser does (all of it, then reads); the status line read, or the socket error. */
async function postRaw (port: number, path: string, size: number, contentLength = true, readWhileSending = false): Promise<{ status?: number, body: string, error?: string, sent: number }> {
  return await new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    let answer = ''
    let error: string | undefined
    let sent = 0
    // Like a browser: nothing is read until the whole body is sent (unless told otherwise, as curl).
    if (!readWhileSending) socket.pause()
    socket.on('data', (chunk) => { answer += chunk.toString('latin1') })
    // Half-open, as a browser's connection: the gateway's FIN does not stop the upload; once both are done, close.
    let peerEnded = false
    let allSent = false
    socket.on('end', () => { peerEnded = true; if (allSent) socket.end() })
    socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code ?? err.message; socket.resume() })
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]
      resolve({ status: status === undefined ? undefined : Number(status), body: answer.slice(answer.indexOf('\r\n\r\n') + 4), error, sent })
    })
    const head = [`POST ${path} HTTP/1.1`, 'Host: motion.example.com', 'Content-Type: application/x-www-form-urlencoded',
      'Accept: application/json', 'Connection: close', contentLength ? `Content-Length: ${size}` : 'Transfer-Encoding: chunked', '', ''].join('\r\n')
    socket.write(head)
    const chunk = Buffer.alloc(64 * 1024, 'a')
    const pump = (): void => {
      while (sent < size && !socket.destroyed) {
        const n = Math.min(chunk.length, size - sent)
        sent += n
        const data = contentLength ? chunk.subarray(0, n) : Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), chunk.subarray(0, n), Buffer.from('\r\n')])
        if (!socket.write(data)) { socket.once('drain', pump); return }
      }
      if (!contentLength && !socket.destroyed) socket.write('0\r\n\r\n')
      allSent = true
      if (peerEnded) socket.end()
      socket.resume()
    }
    pump()
  })
}

t.test('5 MB at the ACS and the SLO endpoint: 413 SAML_TOO_LARGE every time, never a reset', async (t) => {
  const h = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '0', GATEWAY_VALIDATION_WORKERS: '0' } })
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  for (const path of ['/api/auth/saml/callback', '/api/auth/saml/logout/callback']) {
    for (const contentLength of [true, false]) {
      const outcomes = new Map<string, number>()
      for (let i = 0; i < 10; i++) {
        const res = await postRaw(port, path, 5 * 1024 * 1024, contentLength)
        const key = res.status !== undefined ? `${res.status} ${/"error":"([A-Z_]+)"/.exec(res.body)?.[1] ?? ''}` : `reset ${String(res.error)}`
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      }
      t.same(Object.fromEntries(outcomes), { '413 SAML_TOO_LARGE': 10 }, `${path}, ${contentLength ? 'Content-Length' : 'chunked'}: 10 answers read`)
    }
  }
})

t.test('the drain is bounded: a client that never stops sending is cut off', async (t) => {
  const h = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '0', GATEWAY_VALIDATION_WORKERS: '0' } })
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  const res = await postRaw(port, '/api/auth/saml/callback', 64 * 1024 * 1024, true, true)
  t.equal(res.status, 413, 'the answer was sent first (read by a client that reads while it sends)')
  t.ok(res.sent < 64 * 1024 * 1024, `then the connection was closed (${res.error ?? 'no error'}) before 64 MB were taken: ${(res.sent / 1024 / 1024).toFixed(0)} MB sent`)
})
