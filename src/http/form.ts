// application/x-www-form-urlencoded, decoded by the engine's own decodeURIComponent: a SAMLResponse
// near the body limit is ~230 KB of percent-encoded base64, and fast-querystring's decoder (what
// @fastify/formbody uses by default) spent about three times longer on it, on the event loop, and
// left a string made of pieces that is slower to hand to a validator worker. The result is
// fast-querystring's: '+' is a space, a repeated name gives an array, a name without '=' has the
// value '', and a malformed escape leaves that name or value as it came (with '+' as a space).

export type FormBody = Record<string, string | string[]>

export function parseForm (body: string): FormBody {
  const form: FormBody = Object.create(null)
  for (const pair of body.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decode(eq === -1 ? pair : pair.slice(0, eq))
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1))
    const seen = form[name]
    form[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return form
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
