// Where a person may land after login: a path on this site, or a URL on DOMAIN. Anything else
// (//evil, /\evil, https://evil, javascript:) is dropped, never followed.

export function safeReturnTo (value: unknown, publicOrigin: string): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > 2048) return undefined
  // Control characters and backslashes: browsers "repair" them into other hosts.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return undefined
  if (value.startsWith('//')) return undefined
  let parsed: URL
  try { parsed = value.startsWith('/') ? new URL(value, publicOrigin) : new URL(value) } catch { return undefined }
  if (parsed.origin !== publicOrigin) return undefined
  const landing = parsed.pathname + parsed.search + parsed.hash
  // Dot segments and empty ones normalise into a path that begins with '//' (/.//evil, /x/..//evil,
  // https://DOMAIN//evil): in a Location header that is another host. Found by test/attacks.
  return landing.startsWith('//') ? undefined : landing
}
