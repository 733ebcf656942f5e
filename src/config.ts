// The only reader of process.env. Reads Motion's own variable names (DOMAIN, XC_SAML_*) and the
// gateway's (GATEWAY_*), from the environment and a .env file, validates everything at once and
// returns one frozen object. Every problem names its variable.
import envSchema from 'env-schema'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { parseCertificates } from './certificates.js'
import { readEnvFile } from './config/env-file.js'

export type StoreKind = 'sqlite' | 'redis' | 'memory'

export interface Config {
  /** DOMAIN as given (host[:port]). */
  domain: string
  /** Public origin of Motion and the gateway (https://DOMAIN unless GATEWAY_PUBLIC_URL says otherwise). */
  publicOrigin: string
  basePath: string
  /** Absolute URLs of our endpoints as the IdP sees them. */
  acsUrl: string
  sloUrl: string
  listen: { host: string, port: number }
  idp: {
    entryPoint: string
    certs: readonly string[]
    /** Accepted issuers: logins from sts.windows.net, logouts also from login.microsoftonline.com (Entra). */
    issuers: readonly string[]
    logoutUrl?: string
    certExpiry?: number
    /** IdP metadata to refresh the certificates (and issuer) from. */
    metadataUrl?: string
  }
  sp: { entityId: string, key?: string, cert?: string }
  upstream: { loginUrl: string, logoutUrl?: string, audience: string, timeoutMs: number }
  dataDir: string
  session: { store: StoreKind, redisUrl?: string, ttlMs: number, secret?: string }
  identity: { keyFile?: string, previousKeyFile?: string, secret?: string }
  validation: {
    clockSkewMs: number
    allowIdpInitiated: boolean
    wantAssertionsSigned: boolean
    allowSha1: boolean
    requireSignedLogout: boolean
    maxMessageBytes: number
    /** Worker threads that validate login responses off the event loop; 0 = on it. */
    workers: number
  }
  attributes: { email: readonly string[], emailCase: 'preserve' | 'lower', multiUserField?: string }
  postLogoutUrl: string
  trustProxy: boolean | string
  /** Who may read /metrics: loopback clients only (default), anyone, or nobody. */
  metrics: 'loopback' | 'public' | 'off'
  /** Requests per window per client address on the login, ACS and SLO routes; undefined: no limit. */
  rateLimit?: { max: number, windowMs: number }
  logLevel: string
  /** Things an operator should know but that do not stop the gateway. */
  warnings: readonly string[]
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  constructor (readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`)
  }
}

const str = { type: 'string' } as const
const bool = (value: boolean) => ({ type: 'boolean', default: value }) as const

const schema = {
  type: 'object',
  properties: {
    DOMAIN: str,
    XC_SAML_ENTRYPOINT: str,
    XC_SAML_CERT: str,
    XC_SAML_ISSUER: str,
    XC_SAML_LOGOUT_URL: str,
    XC_SAML_MULTI_USER_FIELD: str,
    GATEWAY_LISTEN: { type: 'string', default: '127.0.0.1:3100' },
    GATEWAY_PUBLIC_URL: str,
    GATEWAY_BASE_PATH: { type: 'string', default: '/api/auth/saml' },
    GATEWAY_UPSTREAM_LOGIN_URL: str,
    GATEWAY_UPSTREAM_LOGOUT_URL: str,
    GATEWAY_UPSTREAM_AUDIENCE: str,
    GATEWAY_UPSTREAM_TIMEOUT: { type: 'string', default: '5s' },
    GATEWAY_DATA_DIR: { type: 'string', default: './data' },
    GATEWAY_SESSION_STORE: { type: 'string', enum: ['sqlite', 'redis', 'memory'], default: 'sqlite' },
    GATEWAY_REDIS_URL: str,
    GATEWAY_SESSION_TTL: { type: 'string', default: '8h' },
    GATEWAY_SESSION_SECRET: str,
    GATEWAY_IDENTITY_KEY: str,
    GATEWAY_IDENTITY_PREVIOUS_KEY: str,
    GATEWAY_IDENTITY_SECRET: str,
    GATEWAY_IDP_ISSUER: str,
    GATEWAY_IDP_METADATA_URL: str,
    GATEWAY_SP_KEY: str,
    GATEWAY_SP_CERT: str,
    GATEWAY_CLOCK_SKEW: { type: 'string', default: '180s' },
    GATEWAY_ALLOW_IDP_INITIATED: bool(true),
    GATEWAY_WANT_ASSERTIONS_SIGNED: bool(true),
    GATEWAY_ALLOW_SHA1: bool(false),
    GATEWAY_REQUIRE_SIGNED_LOGOUT: bool(true),
    GATEWAY_VALIDATION_WORKERS: { type: 'integer', minimum: 0, maximum: 64, default: availableParallelism() },
    GATEWAY_EMAIL_ATTRIBUTE: str,
    GATEWAY_EMAIL_CASE: { type: 'string', enum: ['preserve', 'lower'], default: 'preserve' },
    GATEWAY_POST_LOGOUT_URL: str,
    GATEWAY_TRUST_PROXY: { type: 'string', default: 'loopback' },
    GATEWAY_METRICS: { type: 'string', enum: ['loopback', 'public', 'off'], default: 'loopback' },
    GATEWAY_RATE_LIMIT: { type: 'string', default: '1200/min' },
    GATEWAY_LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }
  }
} as const

type Raw = Record<string, string | boolean | undefined>

export const ENTRA_EMAIL_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'
const DEFAULT_EMAIL_ATTRIBUTES = [ENTRA_EMAIL_CLAIM, 'email', 'mail', 'urn:oid:0.9.2342.19200300.100.1.3']
const ENTRA_LOGIN = /^https:\/\/login\.microsoftonline\.(?:com|us)\/([0-9a-f-]{36}|[^/]+\.onmicrosoft\.com)\//i

export interface LoadConfigOptions {
  /** The environment to read; default process.env. */
  env?: Record<string, string | undefined>
  /** Directory whose .env is read when GATEWAY_ENV_FILE is unset; default the working directory. */
  cwd?: string
  now?: number
  /**
   * For `metadata` and `check`, which must work from Motion's own variables alone: a missing
   * GATEWAY_UPSTREAM_LOGIN_URL is not a problem here (upstream.loginUrl is then '').
   */
  upstreamOptional?: boolean
}

export function loadConfig (options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env
  const problems: string[] = []
  const warnings: string[] = []
  const raw = readRaw(env, options.cwd ?? process.cwd(), problems, warnings)
  const has = (name: string) => typeof raw[name] === 'string' && (raw[name] as string).trim() !== ''
  const get = (name: string) => (has(name) ? (raw[name] as string).trim() : undefined)

  for (const name of ['DOMAIN', 'XC_SAML_ENTRYPOINT', 'XC_SAML_ISSUER', 'GATEWAY_UPSTREAM_LOGIN_URL']) {
    if (!has(name) && !(name === 'GATEWAY_UPSTREAM_LOGIN_URL' && options.upstreamOptional === true)) problems.push(`${name} is required`)
  }
  const metadataUrl = url('GATEWAY_IDP_METADATA_URL', get('GATEWAY_IDP_METADATA_URL'), problems)
  if (!has('XC_SAML_CERT') && !has('GATEWAY_IDP_METADATA_URL')) problems.push('XC_SAML_CERT is required (or GATEWAY_IDP_METADATA_URL, to read the certificates from the IdP metadata)')

  const domain = get('DOMAIN') ?? ''
  if (domain !== '') checkDomain(domain, problems)
  const publicOrigin = get('GATEWAY_PUBLIC_URL') !== undefined
    ? url('GATEWAY_PUBLIC_URL', get('GATEWAY_PUBLIC_URL'), problems)?.origin ?? ''
    : `https://${domain.toLowerCase()}`
  const basePath = '/' + (raw.GATEWAY_BASE_PATH as string).trim().replace(/^\/+|\/+$/g, '')
  const entryPoint = url('XC_SAML_ENTRYPOINT', get('XC_SAML_ENTRYPOINT'), problems)
  const logoutUrl = url('XC_SAML_LOGOUT_URL', get('XC_SAML_LOGOUT_URL'), problems)
  const upstreamLogin = url('GATEWAY_UPSTREAM_LOGIN_URL', get('GATEWAY_UPSTREAM_LOGIN_URL'), problems)
  const upstreamLogout = url('GATEWAY_UPSTREAM_LOGOUT_URL', get('GATEWAY_UPSTREAM_LOGOUT_URL'), problems)

  const certs = has('XC_SAML_CERT') ? parseCertificates(raw.XC_SAML_CERT as string, 'XC_SAML_CERT', options.now) : undefined
  problems.push(...(certs?.errors ?? []))
  warnings.push(...(certs?.warnings ?? []))

  const issuers = idpIssuers(get('GATEWAY_IDP_ISSUER'), entryPoint, metadataUrl !== undefined, problems)
  const store = raw.GATEWAY_SESSION_STORE as StoreKind
  if (store === 'redis' && !has('GATEWAY_REDIS_URL')) problems.push('GATEWAY_REDIS_URL is required when GATEWAY_SESSION_STORE=redis')
  if (has('GATEWAY_SESSION_SECRET') && (get('GATEWAY_SESSION_SECRET') as string).length < 32) {
    problems.push('GATEWAY_SESSION_SECRET must be at least 32 characters (or leave it unset: one is generated into GATEWAY_DATA_DIR)')
  }
  if (has('GATEWAY_IDENTITY_SECRET') && (get('GATEWAY_IDENTITY_SECRET') as string).length < 32) {
    problems.push('GATEWAY_IDENTITY_SECRET must be at least 32 characters')
  }
  const spKey = readPem('GATEWAY_SP_KEY', get('GATEWAY_SP_KEY'), problems)
  const spCert = readPem('GATEWAY_SP_CERT', get('GATEWAY_SP_CERT'), problems)
  if ((spKey === undefined) !== (spCert === undefined)) problems.push('GATEWAY_SP_KEY and GATEWAY_SP_CERT go together: set both or neither')

  const listen = parseListen(raw.GATEWAY_LISTEN as string, problems)
  const ttlMs = duration('GATEWAY_SESSION_TTL', raw.GATEWAY_SESSION_TTL as string, problems)
  const skewMs = duration('GATEWAY_CLOCK_SKEW', raw.GATEWAY_CLOCK_SKEW as string, problems)
  const timeoutMs = duration('GATEWAY_UPSTREAM_TIMEOUT', raw.GATEWAY_UPSTREAM_TIMEOUT as string, problems)
  const rateLimit = parseRateLimit('GATEWAY_RATE_LIMIT', raw.GATEWAY_RATE_LIMIT as string, problems)
  // By default the gateway's own "Signed out" page, which says so and offers to sign in again.
  const postLogoutUrl = get('GATEWAY_POST_LOGOUT_URL') ?? `${basePath}/signed-out`
  if (!postLogoutUrl.startsWith('/') && url('GATEWAY_POST_LOGOUT_URL', postLogoutUrl, problems) === undefined) {
    // url() has said what is wrong.
  }

  if (problems.length > 0) throw new ConfigError(problems)

  const dataDir = resolve(options.cwd ?? process.cwd(), raw.GATEWAY_DATA_DIR as string)
  const config: Config = {
    domain,
    publicOrigin,
    basePath,
    acsUrl: `${publicOrigin}${basePath}/callback`,
    sloUrl: `${publicOrigin}${basePath}/logout/callback`,
    listen,
    idp: {
      entryPoint: (entryPoint as URL).href,
      certs: certs?.pems ?? [],
      issuers,
      logoutUrl: logoutUrl?.href,
      certExpiry: certs?.earliestExpiry,
      metadataUrl: metadataUrl?.href
    },
    sp: { entityId: get('XC_SAML_ISSUER') as string, key: spKey, cert: spCert },
    upstream: {
      loginUrl: upstreamLogin?.href ?? '',
      logoutUrl: upstreamLogout?.href,
      audience: get('GATEWAY_UPSTREAM_AUDIENCE') ?? upstreamLogin?.origin ?? '',
      timeoutMs
    },
    dataDir,
    session: { store, redisUrl: get('GATEWAY_REDIS_URL'), ttlMs, secret: get('GATEWAY_SESSION_SECRET') },
    identity: {
      keyFile: get('GATEWAY_IDENTITY_KEY'),
      previousKeyFile: get('GATEWAY_IDENTITY_PREVIOUS_KEY'),
      secret: get('GATEWAY_IDENTITY_SECRET')
    },
    validation: {
      clockSkewMs: skewMs,
      allowIdpInitiated: raw.GATEWAY_ALLOW_IDP_INITIATED as boolean,
      wantAssertionsSigned: raw.GATEWAY_WANT_ASSERTIONS_SIGNED as boolean,
      allowSha1: raw.GATEWAY_ALLOW_SHA1 as boolean,
      requireSignedLogout: raw.GATEWAY_REQUIRE_SIGNED_LOGOUT as boolean,
      maxMessageBytes: 256 * 1024,
      workers: raw.GATEWAY_VALIDATION_WORKERS as unknown as number
    },
    attributes: {
      email: has('GATEWAY_EMAIL_ATTRIBUTE') ? [get('GATEWAY_EMAIL_ATTRIBUTE') as string] : DEFAULT_EMAIL_ATTRIBUTES,
      emailCase: raw.GATEWAY_EMAIL_CASE as 'preserve' | 'lower',
      multiUserField: get('XC_SAML_MULTI_USER_FIELD')
    },
    postLogoutUrl,
    trustProxy: parseTrustProxy(raw.GATEWAY_TRUST_PROXY as string),
    logLevel: raw.GATEWAY_LOG_LEVEL as string,
    metrics: raw.GATEWAY_METRICS as 'loopback' | 'public' | 'off',
    rateLimit,
    warnings
  }
  return deepFreeze(config)
}

/** .env (or GATEWAY_ENV_FILE) under the environment, then env-schema for types and defaults. */
function readRaw (env: Record<string, string | undefined>, cwd: string, problems: string[], warnings: string[]): Raw {
  const explicit = env.GATEWAY_ENV_FILE !== undefined && env.GATEWAY_ENV_FILE !== ''
  const envFile = resolve(cwd, explicit ? env.GATEWAY_ENV_FILE as string : '.env')
  let fromFile: Record<string, string> = {}
  try {
    const reading = readEnvFile(readFileSync(envFile, 'utf8'), envFile)
    fromFile = reading.values
    problems.push(...reading.problems)
    warnings.push(...reading.warnings)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' || explicit) {
      problems.push(`GATEWAY_ENV_FILE: cannot read ${envFile} (${code ?? (err as Error).message})`)
    }
  }
  const data: Record<string, unknown> = { ...fromFile, ...env }
  // env-schema stops a key at its first type error; drop the offender and read the rest again,
  // so that every problem is reported at once.
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      return envSchema({ schema: structuredClone(schema) as object, data, env: false }) as Raw
    } catch (err) {
      const found = (err as { errors?: Array<{ instancePath: string, message?: string, params?: Record<string, unknown> }> }).errors ?? []
      if (found.length === 0) throw err
      for (const e of found) {
        const name = e.instancePath.replace(/^\//, '')
        const allowed = e.params?.allowedValues as string[] | undefined
        problems.push(`${name} ${allowed ? `must be one of ${allowed.join(', ')}` : (e.message ?? 'is invalid')} (got ${JSON.stringify(data[name])})`)
        delete data[name]
      }
    }
  }
  throw new ConfigError(problems)
}

function checkDomain (domain: string, problems: string[]): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(domain)) {
    problems.push(`DOMAIN must be a host name, not a URL: write "${domain.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '')}" without the scheme`)
    return
  }
  if (domain.includes('*')) {
    problems.push(`DOMAIN must be Motion's exact host name; a wildcard ("${domain}") cannot be a SAML Reply URL`)
    return
  }
  if (domain.includes('/')) {
    problems.push(`DOMAIN must be a host name without a path: write "${domain.replace(/\/.*$/, '')}"`)
    return
  }
  let parsed: URL | undefined
  try { parsed = new URL(`https://${domain}`) } catch {}
  if (parsed === undefined || parsed.host !== domain.toLowerCase() || /\s/.test(domain)) {
    problems.push(`DOMAIN "${domain}" is not a valid host name or IP address (with an optional :port)`)
  }
}

function url (name: string, value: string | undefined, problems: string[]): URL | undefined {
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

/** Entra's logins are issued by sts.windows.net/<tenant>/; its logout messages by login.microsoftonline.com/<tenant>/. */
function idpIssuers (explicit: string | undefined, entryPoint: URL | undefined, fromMetadata: boolean, problems: string[]): string[] {
  const tenant = entryPoint !== undefined ? ENTRA_LOGIN.exec(entryPoint.href)?.[1] : undefined
  const entra = tenant !== undefined ? [`https://sts.windows.net/${tenant}/`, `https://login.microsoftonline.com/${tenant}/`] : []
  if (explicit !== undefined) return [...new Set([explicit, ...entra])]
  if (entra.length === 0 && entryPoint !== undefined && !fromMetadata) {
    problems.push('GATEWAY_IDP_ISSUER is required: XC_SAML_ENTRYPOINT is not an Entra login URL, so the IdP entity ID cannot be derived from it')
  }
  return entra
}

function readPem (name: string, file: string | undefined, problems: string[]): string | undefined {
  if (file === undefined) return undefined
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

function parseListen (value: string, problems: string[]): { host: string, port: number } {
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

function parseTrustProxy (value: string): boolean | string {
  if (value === 'true') return true
  if (value === 'false' || value === '') return false
  return value
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
