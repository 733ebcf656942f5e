// GATEWAY_IDP_METADATA_FILE: the IdP's metadata read from a file at start. Its entity ID,
// signing certificates, SSO/SLO endpoints and bindings then drive the IdP side; XC_SAML_* values
// become optional (`check` says where they disagree with the metadata, and that the metadata wins).
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseIdpMetadata, type IdpMetadata } from '../sp/read/idp-metadata.js'

export function readIdpMetadataFile (name: string, file: string, nowMs: number | undefined, problems: string[]): IdpMetadata | undefined {
  let xml: string
  try {
    xml = readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
  try {
    const metadata = parseIdpMetadata(xml)
    if (metadata.signingCerts.length === 0) throw new Error('it has no signing certificate')
    metadata.signingCerts.forEach((pem) => new X509Certificate(pem)) // each throws on a bad one
    if (metadata.validUntil !== undefined && metadata.validUntil <= (nowMs ?? Date.now())) {
      throw new Error(`it expired (validUntil ${new Date(metadata.validUntil).toISOString()})`)
    }
    return metadata
  } catch (err) {
    problems.push(`${name}: ${file} is not usable IdP metadata: ${(err as Error).message}`)
    return undefined
  }
}
