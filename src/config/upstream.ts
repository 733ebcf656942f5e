// The upstream (Motion): where the signed-in person is handed off and told about IdP logouts.
import { required, str, text, type EnvOf, type ReadContext } from './env.js'
import { duration, url } from './values.js'

export const upstreamSchema = {
  GATEWAY_UPSTREAM_LOGIN_URL: str,
  GATEWAY_UPSTREAM_LOGOUT_URL: str,
  GATEWAY_UPSTREAM_AUDIENCE: str,
  GATEWAY_UPSTREAM_TIMEOUT: { type: 'string', default: '5s' }
} as const

export function readUpstream (env: EnvOf<typeof upstreamSchema>, { problems, upstreamOptional }: ReadContext) {
  // Without it, upstream.loginUrl is '' (only where the caller said it can do without).
  if (upstreamOptional !== true) required(env, ['GATEWAY_UPSTREAM_LOGIN_URL'], problems)
  const login = url('GATEWAY_UPSTREAM_LOGIN_URL', text(env.GATEWAY_UPSTREAM_LOGIN_URL), problems)
  const logout = url('GATEWAY_UPSTREAM_LOGOUT_URL', text(env.GATEWAY_UPSTREAM_LOGOUT_URL), problems)
  return {
    upstream: {
      loginUrl: login?.href ?? '',
      logoutUrl: logout?.href,
      audience: text(env.GATEWAY_UPSTREAM_AUDIENCE) ?? login?.origin ?? '',
      timeoutMs: duration('GATEWAY_UPSTREAM_TIMEOUT', env.GATEWAY_UPSTREAM_TIMEOUT, problems)
    }
  }
}
