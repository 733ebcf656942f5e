// A Set-Cookie line as a browser reads it, for the tests' small browsers: name, value, the path it
// applies to (the default path of the URL that set it unless it says one), and whether it ends
// the cookie (Max-Age ≤ 0, or Expires in the past).
export interface SetCookie { name: string, value: string, path: string, expired: boolean }

export function parseSetCookie (line: string, url: URL): SetCookie {
  const [pair, ...attributes] = line.split(';')
  const index = pair.indexOf('=')
  const cookie: SetCookie = { name: pair.slice(0, index).trim(), value: pair.slice(index + 1).trim(), path: url.pathname.replace(/\/[^/]*$/, '') || '/', expired: false }
  for (const attribute of attributes) {
    const [key, v = ''] = attribute.split('=').map((s) => s.trim())
    if (/^path$/i.test(key)) cookie.path = v
    if (/^max-age$/i.test(key) && Number(v) <= 0) cookie.expired = true
    if (/^expires$/i.test(key) && Date.parse(v) <= Date.now()) cookie.expired = true
  }
  return cookie
}
