// Where a person may land after login: a path on this site, or a URL on DOMAIN. Anything else
// (//evil, /\evil, https://evil, javascript:) is dropped, never followed.

export function safeReturnTo (value: unknown, publicOrigin: string): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > 2048) return undefined
  // Control characters and backslashes: browsers "repair" them into other hosts.
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return undefined
  if (value.startsWith('/')) {
    if (value.startsWith('//')) return undefined
    const resolved = new URL(value, publicOrigin)
    return resolved.origin === publicOrigin ? resolved.pathname + resolved.search + resolved.hash : undefined
  }
  let parsed: URL
  try { parsed = new URL(value) } catch { return undefined }
  if (parsed.origin !== publicOrigin) return undefined
  return parsed.pathname + parsed.search + parsed.hash
}
