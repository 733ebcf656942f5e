// Requests written byte for byte over TLS: an HTTP client library would normalize the very
// spellings (%2F, "/./", "..", case) that the nginx tests are about. Also: recording stand-ins for
// the gateway and Motion, so that a test can say which requests reached which server, with which
// headers.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { connect } from 'node:tls'
import { connect as connectHttp2, constants as h2 } from 'node:http2'

export interface RawAnswer { status: number, headers: Record<string, string[]>, head: string }

/** One request, `Connection: close`; the answer's status line and headers. */
export function rawRequest (origin: string, lines: string[], body = ''): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      socket.destroy()
      resolve(parseHead(Buffer.concat(chunks).toString('latin1')))
    })
    const head = [...lines, `Host: ${hostname}`, 'Connection: close', ...(body !== '' ? [`Content-Length: ${Buffer.byteLength(body)}`] : []), '', '']
    socket.write(head.join('\r\n') + body)
  })
}

/** GETs over one HTTP/2 connection, each `:path` sent as written; the statuses, in order. */
export async function http2Statuses (origin: string, paths: string[], headers: Record<string, string> = {}): Promise<number[]> {
  const session = connectHttp2(origin, { rejectUnauthorized: false })
  try {
    const statuses: number[] = []
    for (const path of paths) {
      statuses.push(await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ...headers, [h2.HTTP2_HEADER_METHOD]: 'GET', [h2.HTTP2_HEADER_PATH]: path })
        stream.on('response', (head) => { stream.resume(); resolve(Number(head[h2.HTTP2_HEADER_STATUS])) })
        stream.on('error', reject)
        stream.end()
      }))
    }
    return statuses
  } finally {
    session.close()
  }
}

function parseHead (text: string): RawAnswer {
  const head = text.split('\r\n\r\n')[0]
  const [statusLine, ...headerLines] = head.split('\r\n')
  const headers: Record<string, string[]> = {}
  for (const line of headerLines) {
    const index = line.indexOf(':')
    const name = line.slice(0, index).trim().toLowerCase()
    ;(headers[name] ??= []).push(line.slice(index + 1).trim())
  }
  return { status: Number(statusLine.split(' ')[1]), headers, head }
}

/** A WebSocket-style upgrade; resolves with the socket after the 101, or rejects with the status line. */
export function rawUpgrade (origin: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
    let text = ''
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1')
      if (!text.includes('\r\n\r\n')) return
      socket.off('data', onData)
      if (/^HTTP\/1\.1 101 /.test(text)) resolve(socket)
      else reject(new Error(text.split('\r\n')[0]))
    }
    socket.on('data', onData)
    socket.on('error', reject)
    socket.write([`GET ${path} HTTP/1.1`, `Host: ${hostname}`, 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '', ''].join('\r\n'))
  })
}

export interface Seen { server: string, method: string, url: string, headers: IncomingHttpHeaders }

export interface Recorder {
  name: string
  /** host:port */
  address: string
  seen: Seen[]
  /** What this server answers; default 200 with its name in X-Served-By. */
  answer: (req: IncomingMessage, res: ServerResponse) => void
  close (): Promise<void>
}

const served = (name: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name })
  res.end(name)
}

/**
 * A server that records every request it gets (into its own and the shared list) and answers
 * with `answer`. An upgrade request is accepted (101) and echoes what it receives.
 */
export async function startRecorder (name: string, shared: Seen[]): Promise<Recorder> {
  const recorder: Recorder = { name, address: '', seen: [], answer: served(name), close: async () => {} }
  const record = (req: IncomingMessage) => {
    const seen = { server: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers }
    recorder.seen.push(seen)
    shared.push(seen)
  }
  const server = createServer((req, res) => {
    record(req)
    req.resume()
    req.on('end', () => recorder.answer(req, res))
  })
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    record(req)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    socket.on('data', (chunk) => socket.write(chunk))
    socket.on('end', () => socket.end())
    socket.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  recorder.address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  recorder.close = () => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return recorder
}
