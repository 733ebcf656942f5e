// application/x-www-form-urlencoded, read from the body's bytes. The SAML message fields
// (SAMLResponse, SAMLRequest) are not decoded here: they are kept as the bytes that came, and
// decoded in a validator worker with the message (src/sp/read/form-value.ts says why). Every
// other field is decoded at once, as fast-querystring (Fastify's own query parser) does it: '+'
// is a space, a repeated name gives an array, a name without '=' has the value '', and a
// malformed escape leaves that name or value as it came (with '+' as a space).
import { type FormEncoded } from '../sp/read/form-value.js'

export type FormBody = Record<string, string | FormEncoded | Array<string | FormEncoded>>

/** The fields kept as bytes for a validator worker. */
const MESSAGE_FIELDS = new Set(['SAMLResponse', 'SAMLRequest'])
const AMPERSAND = 0x26
const EQUALS = 0x3d

export function parseForm (body: Buffer): FormBody {
  const form: FormBody = Object.create(null)
  let start = 0
  while (start <= body.length) {
    let end = body.indexOf(AMPERSAND, start)
    if (end === -1) end = body.length
    if (end > start) add(form, body, start, end)
    start = end + 1
  }
  return form
}

function add (form: FormBody, body: Buffer, start: number, end: number): void {
  let eq = body.indexOf(EQUALS, start)
  if (eq === -1 || eq > end) eq = end
  const name = decode(body.toString('utf8', start, eq))
  const value = MESSAGE_FIELDS.has(name)
    ? { formEncoded: body.subarray(Math.min(eq + 1, end), end) }
    : eq === end ? '' : decode(body.toString('utf8', eq + 1, end))
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
