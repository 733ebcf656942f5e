// Walk a login through the gateway with inject: start (AuthnRequest), answer as the IdP, post.
import { inflateRawSync } from 'node:zlib'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildResponse, type ResponseOptions } from './idp.js'
import { cookieHeader, cookiesOf } from './app.js'

/** Requests reach the gateway through nginx over TLS: say so, as nginx would. */
export const viaTls = { 'x-forwarded-proto': 'https' }

export interface Browser { jar: Record<string, string> }

export function newBrowser (): Browser { return { jar: {} } }

export async function send (app: FastifyInstance, browser: Browser, req: { method?: string, url: string, form?: Record<string, string>, headers?: Record<string, string> }): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method: (req.method ?? (req.form !== undefined ? 'POST' : 'GET')) as 'GET',
    url: req.url,
    headers: { ...viaTls, cookie: cookieHeader(browser.jar), ...(req.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...req.headers },
    payload: req.form !== undefined ? new URLSearchParams(req.form).toString() : undefined
  })
  Object.assign(browser.jar, cookiesOf(res))
  return res
}

/** The AuthnRequest XML and ID inside a Redirect-binding URL. */
export function authnRequestOf (location: string): { id: string, xml: string } {
  const samlRequest = new URL(location).searchParams.get('SAMLRequest')
  if (samlRequest === null) throw new Error(`no SAMLRequest in ${location}`)
  const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8')
  const id = /\sID="([^"]+)"/.exec(xml)?.[1]
  if (id === undefined) throw new Error('AuthnRequest without ID')
  return { id, xml }
}

/** SP-initiated: GET /api/auth/saml, then post the IdP's signed answer to the ACS. */
export async function loginThroughIdp (app: FastifyInstance, browser: Browser, response: ResponseOptions = {}, returnTo = '/agent'): Promise<{ start: LightMyRequestResponse, acs: LightMyRequestResponse, requestId: string, samlResponse: string }> {
  const start = await send(app, browser, { url: `/api/auth/saml?returnTo=${encodeURIComponent(returnTo)}` })
  if (start.statusCode !== 302) throw new Error(`login did not redirect: ${start.statusCode} ${start.body}`)
  const { id } = authnRequestOf(start.headers.location as string)
  const samlResponse = buildResponse({ inResponseTo: id, ...response })
  const acs = await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse } })
  return { start, acs, requestId: id, samlResponse }
}
