// Nobody but the gateway may speak in X-Gateway-* headers: whatever the client sent under such a
// name (any case, `_` for `-` as some proxies and CGI-style servers fold it) is dropped before
// anything is forwarded, so the upstream only ever sees the identity the gateway signed.

const GATEWAY_HEADER_PREFIX = 'x-gateway-'

export function isGatewayHeader (name: string): boolean {
  return name.toLowerCase().replaceAll('_', '-').startsWith(GATEWAY_HEADER_PREFIX)
}

/** A copy of `headers` without any X-Gateway-* header. */
export function stripGatewayHeaders (headers: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!isGatewayHeader(name)) kept[name] = value
  }
  return kept
}
