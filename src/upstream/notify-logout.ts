// Tell the upstream, server to server, that the IdP ended a person's session, so it can end its own.
import { request, type Dispatcher } from 'undici'
import { IDENTITY_HEADER } from '../identity/mint.js'

/** `reason`: `idp_logout` (the IdP's single logout) or `revoked` (the operator, `saml-gateway sessions revoke`). */
export async function notifyLogout (opts: { url: string, token: string, timeoutMs: number, correlationId: string, dispatcher?: Dispatcher, reason?: 'idp_logout' | 'revoked' }): Promise<boolean> {
  try {
    const res = await request(opts.url, {
      method: 'POST',
      headers: { [IDENTITY_HEADER]: opts.token, 'content-type': 'application/json', 'x-request-id': opts.correlationId },
      body: JSON.stringify({ reason: opts.reason ?? 'idp_logout' }),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      dispatcher: opts.dispatcher
    })
    await res.body.dump()
    return res.statusCode >= 200 && res.statusCode < 300
  } catch {
    return false
  }
}
