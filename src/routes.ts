// Every public path of the gateway, named once, relative to GATEWAY_BASE_PATH. The routes, the
// configuration (ACS and SLO URLs), metrics and the rate limit all read them from here.

export const PATHS = {
  /** Login (query: returnTo, forceAuthn=1); `/login` is the same handler. */
  start: '/',
  login: '/login',
  /** The assertion consumer service (HTTP-POST). */
  callback: '/callback',
  /** The multi-login chooser's submit. */
  profile: '/profile',
  logout: '/logout',
  /** Where a sign-out lands by default (GATEWAY_POST_LOGOUT_URL). */
  signedOut: '/signed-out',
  /** The SLO endpoint: LogoutRequests and LogoutResponses from the IdP. */
  logoutCallback: '/logout/callback',
  metadata: '/metadata',
  jwks: '/jwks.json',
  /** nginx auth_request. */
  auth: '/auth',
  session: '/session',
  health: '/health',
  healthReady: '/health/ready',
  healthLive: '/health/live',
  metrics: '/metrics',
  stylesheet: '/style.css',
  /** Submits the HTTP-POST binding's form to the IdP (a script of ours: no inline script). */
  autoPostScript: '/auto-post.js'
} as const

export type PathName = keyof typeof PATHS

/** The routes anyone can make the gateway work hard for: they are rate limited. */
export const LIMITED_PATHS: readonly string[] = [PATHS.start, PATHS.login, PATHS.callback, PATHS.logoutCallback]
