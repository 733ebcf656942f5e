// Where the gateway is: Motion's public host (DOMAIN), the base path of our routes, the listen
// address, and what the HTTP layer needs (proxy trust, metrics exposure, rate limit, log level).
import { PATHS } from '../routes.js'
import { required, str, text, type EnvOf, type ReadContext } from './env.js'
import { parseListen, parseRateLimit, parseTrustProxy, url } from './values.js'

export const httpSchema = {
  DOMAIN: str,
  GATEWAY_LISTEN: { type: 'string', default: '127.0.0.1:3100' },
  GATEWAY_PUBLIC_URL: str,
  GATEWAY_BASE_PATH: { type: 'string', default: '/api/auth/saml' },
  GATEWAY_POST_LOGOUT_URL: str,
  GATEWAY_TRUST_PROXY: { type: 'string', default: 'loopback' },
  GATEWAY_METRICS: { type: 'string', enum: ['loopback', 'public', 'off'], default: 'loopback' },
  GATEWAY_RATE_LIMIT: { type: 'string', default: '1200/min' },
  GATEWAY_LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }
} as const

export function readHttp (env: EnvOf<typeof httpSchema>, { problems }: ReadContext) {
  required(env, ['DOMAIN'], problems)
  const domain = text(env.DOMAIN) ?? ''
  if (domain !== '') checkDomain(domain, problems)
  const publicUrl = text(env.GATEWAY_PUBLIC_URL)
  const publicOrigin = publicUrl !== undefined
    ? url('GATEWAY_PUBLIC_URL', publicUrl, problems)?.origin ?? ''
    : `https://${domain.toLowerCase()}`
  const basePath = '/' + env.GATEWAY_BASE_PATH.trim().replace(/^\/+|\/+$/g, '')
  // By default the gateway's own "Signed out" page, which says so and offers to sign in again.
  const postLogoutUrl = text(env.GATEWAY_POST_LOGOUT_URL) ?? `${basePath}${PATHS.signedOut}`
  // url() says what is wrong with anything that is neither a path nor an absolute URL.
  if (!postLogoutUrl.startsWith('/')) url('GATEWAY_POST_LOGOUT_URL', postLogoutUrl, problems)
  return {
    /** DOMAIN as given (host[:port]). */
    domain,
    /** Public origin of Motion and the gateway (https://DOMAIN unless GATEWAY_PUBLIC_URL says otherwise). */
    publicOrigin,
    basePath,
    /** Absolute URLs of our endpoints as the IdP sees them. */
    acsUrl: `${publicOrigin}${basePath}${PATHS.callback}`,
    sloUrl: `${publicOrigin}${basePath}${PATHS.logoutCallback}`,
    listen: parseListen(env.GATEWAY_LISTEN, problems),
    postLogoutUrl,
    /** Proxies whose X-Forwarded-For is believed (addresses, CIDR ranges, named ranges), or false. */
    trustProxy: parseTrustProxy(env.GATEWAY_TRUST_PROXY, problems),
    /** Who may read /metrics: loopback clients only (default), anyone, or nobody. */
    metrics: env.GATEWAY_METRICS,
    /** Requests per window per client address on the login, ACS and SLO routes; undefined: no limit. */
    rateLimit: parseRateLimit('GATEWAY_RATE_LIMIT', env.GATEWAY_RATE_LIMIT, problems),
    logLevel: env.GATEWAY_LOG_LEVEL as string
  }
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
