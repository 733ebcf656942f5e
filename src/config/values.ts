// Parsers for the value formats the settings share: URLs, durations, rates, listen addresses,
// PEM files. Each reports a problem naming its variable instead of throwing.
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'

export function url (name: string, value: string | undefined, problems: string[]): URL | undefined {
  if (value === undefined) return undefined
  try {
    const parsed = new URL(value)
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme')
    return parsed
  } catch {
    problems.push(`${name} must be an absolute http(s) URL (got ${JSON.stringify(value)})`)
    return undefined
  }
}

export function readPem (name: string, file: string | undefined, problems: string[]): string | undefined {
  if (file === undefined) return undefined
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

export function parseListen (value: string, problems: string[]): { host: string, port: number } {
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(value.trim())
  const port = Number(match?.[2])
  if (match === null || port > 65535) {
    problems.push(`GATEWAY_LISTEN must be host:port or a port (got ${JSON.stringify(value)})`)
    return { host: '127.0.0.1', port: 0 }
  }
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "180", "180s", "30m", "8h", "250ms" → milliseconds; a bare number means seconds. */
export function duration (name: string, value: string, problems: string[]): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim())
  if (match === null) {
    problems.push(`${name} must be a duration like 180, 180s, 30m or 8h (got ${JSON.stringify(value)})`)
    return 0
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 's'])
}

const RATE_WINDOWS: Record<string, number> = { s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000 }

/** "120" or "120/min" (per minute), "10/s", "1000/h" → requests per window; "0" turns the limit off. */
export function parseRateLimit (name: string, value: string, problems: string[]): { max: number, windowMs: number } | undefined {
  const match = /^(\d+)\s*(?:\/\s*([a-z]+))?$/i.exec(value.trim())
  const windowMs = RATE_WINDOWS[(match?.[2] ?? 'min').toLowerCase()]
  if (match === null || windowMs === undefined) {
    problems.push(`${name} must be requests per minute per client address, like 120 or 120/min (also 10/s, 1000/h); 0 turns it off (got ${JSON.stringify(value)})`)
    return undefined
  }
  const max = Number(match[1])
  return max === 0 ? undefined : { max, windowMs }
}

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * The proxies whose X-Forwarded-For is believed: addresses, CIDR ranges or proxy-addr's named
 * ranges, or false. Never `true` or a hop count: those believe the left-most address a client
 * wrote itself, so any client (or any process on the host) picks the address it is limited by.
 */
export function parseTrustProxy (value: string, problems: string[] = []): false | string {
  const parts = value.split(',').map((part) => part.trim()).filter((part) => part !== '')
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'false')) return false
  for (const part of parts) {
    const [address, bits, extra] = part.split('/')
    const max = isIP(address) === 6 ? 128 : 32
    if (NAMED_RANGES.has(part) || (isIP(address) !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max)))) continue
    problems.push(`GATEWAY_TRUST_PROXY must list the addresses of the proxies in front of the gateway (IP addresses, CIDR ranges, loopback, linklocal, uniquelocal) or be false (got ${JSON.stringify(part)}` +
      `${part === 'true' || /^\d+$/.test(part) ? ': trusting every hop or a hop count lets any client choose its address with X-Forwarded-For' : ''})`)
  }
  return parts.join(',')
}
