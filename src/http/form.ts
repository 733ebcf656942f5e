// application/x-www-form-urlencoded, read from the body's bytes as they arrive. The SAML message
// fields (SAMLResponse, SAMLRequest) are not decoded, nor even joined: they are kept as views of
// the pieces that came, and decoded in a validator worker with the message
// (src/sp/read/form-value.ts says why). Every other field is decoded at once, as fast-querystring
// (Fastify's own query parser) does it: '+' is a space, a repeated name gives an array, a name
// without '=' has the value '', and a malformed escape leaves that name or value as it came.
import type { IncomingMessage } from 'node:http'
import { errorCodes, type FastifyRequest } from 'fastify'
import { type FormEncoded } from '../sp/read/form-value.js'
import { ownsItsMemory, releaseWithAnswer } from './release-body.js'

export type FormBody = Record<string, string | FormEncoded | Array<string | FormEncoded>>

/** The fields kept as bytes for a validator worker. */
const MESSAGE_FIELDS = new Set(['SAMLResponse', 'SAMLRequest'])
const AMPERSAND = 0x26
const EQUALS = 0x3d

/**
 * A Fastify content-type parser: the body's pieces (at most `limit` bytes, as Content-Length says),
 * parsed. Fastify's own `parseAs: 'buffer'` would join them into one more copy first.
 */
export function formBodyParser (limit: number) {
  return function parseFormBody (request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: FormBody) => void): void {
    const declared = Number(request.headers['content-length'])
    if (declared > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
    const pieces: Buffer[] = []
    let received = 0
    const finish = (err: Error | null, body?: FormBody): void => {
      payload.off('data', onData).off('end', onEnd).off('error', onError)
      done(err, body)
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.length
      if (received > limit) return finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
      // A view kept past this request must not share memory with anything else (its memory is
      // released once the answer is out: release-body.ts): Node gives each piece of a body its
      // own buffer, and one that does not is copied into one of its own.
      pieces.push(ownsItsMemory(chunk) ? chunk : Buffer.from(new Uint8Array(chunk).buffer))
    }
    const onEnd = (): void => {
      if (!Number.isNaN(declared) && received !== declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH())
      const body = parseForm(pieces)
      releaseWithAnswer(body, pieces)
      finish(null, body)
    }
    const onError = (err: Error & { statusCode?: number }): void => {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400
      finish(err)
    }
    payload.on('data', onData).on('end', onEnd).on('error', onError)
    payload.resume()
  }
}

export function parseForm (body: Buffer | Buffer[]): FormBody {
  const bytes = new Pieces(Array.isArray(body) ? body : [body])
  const form: FormBody = Object.create(null)
  let start = 0
  while (start <= bytes.length) {
    let end = bytes.indexOf(AMPERSAND, start)
    if (end === -1) end = bytes.length
    if (end > start) add(form, bytes, start, end)
    start = end + 1
  }
  return form
}

function add (form: FormBody, bytes: Pieces, start: number, end: number): void {
  let eq = bytes.indexOf(EQUALS, start)
  if (eq === -1 || eq > end) eq = end
  const name = decode(bytes.text(start, eq))
  const value = MESSAGE_FIELDS.has(name)
    ? { formEncoded: bytes.views(Math.min(eq + 1, end), end) }
    : eq === end ? '' : decode(bytes.text(eq + 1, end))
  const seen = form[name]
  form[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
}

function decode (text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text
  if (!spaced.includes('%')) return spaced
  try {
    return decodeURIComponent(spaced)
  } catch {
    return spaced
  }
}

/** The body's pieces as one run of bytes, addressed by offsets from its start. */
class Pieces {
  readonly length: number
  private readonly starts: number[] = []

  constructor (private readonly pieces: Buffer[]) {
    let length = 0
    for (const piece of pieces) {
      this.starts.push(length)
      length += piece.length
    }
    this.length = length
  }

  indexOf (byte: number, from: number): number {
    for (let i = 0; i < this.pieces.length; i++) {
      const offset = from - this.starts[i]
      if (offset >= this.pieces[i].length) continue
      const found = this.pieces[i].indexOf(byte, Math.max(0, offset))
      if (found !== -1) return this.starts[i] + found
    }
    return -1
  }

  /** Views of [start, end), without copying. */
  views (start: number, end: number): Buffer[] {
    const views: Buffer[] = []
    for (let i = 0; i < this.pieces.length && start < end; i++) {
      const from = start - this.starts[i]
      const piece = this.pieces[i]
      if (from >= piece.length) continue
      const to = Math.min(piece.length, end - this.starts[i])
      views.push(piece.subarray(from, to))
      start = this.starts[i] + to
    }
    return views
  }

  /** [start, end) as UTF-8 text (the small fields). */
  text (start: number, end: number): string {
    const views = this.views(start, end)
    return views.length === 1 ? views[0].toString('utf8') : Buffer.concat(views).toString('utf8')
  }
}
