// GATEWAY_CLAIM_<NAME>: the SAML attribute(s) each identity claim is read from, comma-separated,
// tried before the built-in aliases (src/sp/claims.ts). GATEWAY_EMAIL_ATTRIBUTE is the older name
// of GATEWAY_CLAIM_EMAIL and still works.
import { ATTRIBUTE_CLAIMS, claimSources, type AttributeClaim } from '../sp/claims.js'

export const claimVariable = (claim: AttributeClaim): string => `GATEWAY_CLAIM_${claim.toUpperCase()}`

/** env-schema properties: one string per claim. */
export const claimSchemaProperties: Record<string, { type: 'string' }> =
  Object.fromEntries(ATTRIBUTE_CLAIMS.map((claim) => [claimVariable(claim), { type: 'string' }]))

/** The configured names per claim, and the full lookup order the gateway uses. */
export function readClaimSettings (get: (name: string) => string | undefined): {
  configured: Partial<Record<AttributeClaim, readonly string[]>>
  sources: Record<AttributeClaim, readonly string[]>
} {
  const configured: Partial<Record<AttributeClaim, readonly string[]>> = {}
  for (const claim of ATTRIBUTE_CLAIMS) {
    const value = get(claimVariable(claim)) ?? (claim === 'email' ? get('GATEWAY_EMAIL_ATTRIBUTE') : undefined)
    const names = value?.split(',').map((n) => n.trim()).filter((n) => n !== '') ?? []
    if (names.length > 0) configured[claim] = names
  }
  return { configured, sources: claimSources(configured) }
}
