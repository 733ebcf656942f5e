// A body's memory goes back once its answer is out, without waiting for V8's next collection: the
// SAML fields the form parser kept, and the pieces of a body that was refused before it was read.
import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { isFormEncoded, type FormEncoded } from '../../src/sp/read/form-value.js'
import { ownsItsMemory, release } from '../../src/http/release-body.js'

const MB = 1024 * 1024

t.test('release frees the memory at once, without a collection', async (t) => {
  const buffers = Array.from({ length: 8 }, () => Buffer.alloc(MB, 1))
  const before = process.memoryUsage().external
  release(buffers.map((b) => b.buffer as ArrayBuffer))
  const after = process.memoryUsage().external
  t.ok(before - after > 7 * MB, `V8 counts ${((before - after) / MB).toFixed(1)} MB less`)
  t.same(buffers.map((b) => b.length), Array(8).fill(0), 'every view of them reads as empty')
  t.doesNotThrow(() => release(buffers.map((b) => b.buffer as ArrayBuffer)), 'releasing twice is harmless')
})

t.test('only a buffer that is a whole piece of its own counts as a body\'s own', async (t) => {
  t.ok(ownsItsMemory(Buffer.alloc(64 * 1024)), 'a buffer of its own')
  t.notOk(ownsItsMemory(Buffer.from('SAMLResponse=abc')), 'a small buffer, in Node\'s shared pool')
  t.notOk(ownsItsMemory(Buffer.alloc(64 * 1024).subarray(1)), 'a part of a buffer')
  t.notOk(ownsItsMemory(new Uint8Array(new SharedArrayBuffer(16))), 'shared memory')
})

/** Sends `requests` on one keep-alive connection, one after the other; the status of each. */
async function sendAll (port: number, requests: string[]): Promise<number[]> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  const statuses: number[] = []
  let answer = ''
  try {
    for (const request of requests) {
      socket.write(request)
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          answer += chunk.toString('latin1')
          const head = /^HTTP\/1\.1 (\d{3})[\s\S]*?\r\ncontent-length: (\d+)\r\n[\s\S]*?\r\n\r\n/i.exec(answer)
          if (head === null || answer.length < head[0].length + Number(head[2])) return
          statuses.push(Number(head[1]))
          answer = answer.slice(head[0].length + Number(head[2]))
          socket.off('data', onData)
          resolve()
        }
        socket.on('data', onData)
        socket.once('error', reject)
      })
    }
  } finally {
    socket.destroy()
  }
  return statuses
}

function post (path: string, body: string): string {
  return [`POST ${path} HTTP/1.1`, 'Host: motion.example.com', 'Content-Type: application/x-www-form-urlencoded',
    'Accept: application/json', `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n')
}

t.test('the gateway releases the SAML field of an answered POST, and the pieces of a refused body', async (t) => {
  const { app } = await buildTestApp(t, { env: { GATEWAY_RATE_LIMIT: '2/min', GATEWAY_VALIDATION_WORKERS: '0' } })
  const fields: FormEncoded[] = []
  const unread: Buffer[] = []
  // After the gateway's own hooks: what the request holds once the answer is on its way.
  app.addHook('onSend', async (request: FastifyRequest) => {
    const body = request.body as Record<string, unknown> | undefined
    if (isFormEncoded(body?.SAMLResponse)) fields.push(body.SAMLResponse)
    if (!request.raw.complete) request.raw.on('data', (chunk: Buffer) => unread.push(chunk))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const big = `SAMLResponse=${'QUFB'.repeat(60_000)}&RelayState=%2Fqueue`
  // Two answered (400: not a SAML response), then refused by the rate limit before its body is read,
  // then a GET on the same connection: the refused body was read to its end.
  const statuses = await sendAll(port, [post('/api/auth/saml/callback', big), post('/api/auth/saml/callback', big),
    post('/api/auth/saml/callback', big), 'GET /api/auth/saml/health HTTP/1.1\r\nHost: motion.example.com\r\n\r\n'])
  t.same(statuses, [400, 400, 429, 200], 'each request answered, the connection kept')
  t.equal(fields.length, 2, 'both parsed fields seen')
  t.ok(fields.every((field) => field.formEncoded.length > 0 && field.formEncoded.every((piece) => piece.length === 0)), 'the parsed fields: released')
  t.ok(unread.length > 0, 'pieces of the refused body arrived after its answer')
  t.ok(unread.every((piece) => piece.length === 0), `its ${unread.length} pieces: released as they came`)
})

t.test('a body injected in-process is the caller\'s own buffer: left alone', async (t) => {
  const { app } = await buildTestApp(t, { env: { GATEWAY_VALIDATION_WORKERS: '0' } })
  const payload = Buffer.from(`SAMLResponse=${'QUFB'.repeat(60_000)}`)
  t.ok(ownsItsMemory(payload), 'a buffer of its own, as Node gives a body\'s pieces')
  const res = await app.inject({ method: 'POST', url: '/api/auth/saml/callback', payload, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } })
  t.equal(res.statusCode, 400)
  t.equal(payload.length, 13 + 240_000, 'still whole after the answer')
})

t.test('a buffer that cannot be moved is left to the collector, never an error', async (t) => {
  const { markAsUntransferable } = await import('node:worker_threads')
  const pinned = Buffer.alloc(64 * 1024, 1)
  markAsUntransferable(pinned.buffer)
  const free = Buffer.alloc(64 * 1024, 1)
  t.doesNotThrow(() => release([pinned.buffer as ArrayBuffer, free.buffer as ArrayBuffer]))
  t.equal(pinned.length, 64 * 1024, 'the pinned one is whole')
})
