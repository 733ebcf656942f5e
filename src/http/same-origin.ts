// Where a request came from, as the browser tells it. Sec-Fetch-Site is sent by every current
// browser and cannot be set by a page; Origin and Referer are the fallbacks of older ones. A
// request that carries none of them (curl, a monitoring probe, a browser from before 2023 on a
// page that sends no Referer) is taken as it always was: the protection is for today's browsers.
import type { FastifyRequest } from 'fastify'

/** True when the browser says the request was made by a page of another site (or an opaque one). */
export function fromAnotherSite (request: FastifyRequest, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site']
  if (typeof site === 'string') return site === 'cross-site'
  const origin = request.headers.origin
  if (typeof origin === 'string') return origin !== publicOrigin
  const referer = request.headers.referer
  if (typeof referer !== 'string') return false
  try {
    return new URL(referer).origin !== publicOrigin
  } catch {
    return true
  }
}
