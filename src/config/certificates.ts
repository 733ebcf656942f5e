// Tolerant reading of an IdP certificate as administrators paste it into Motion's .env: with quotes,
// spaces, literal "\n" or real line breaks, with or without PEM armour, several comma-separated for
// a rollover. What we fix we say (a warning); what we cannot read we say precisely (an error).
import { X509Certificate } from 'node:crypto'
import { certificatePem } from '../sp/certificate.js'

export interface ParsedCertificates {
  pems: string[]
  warnings: string[]
  /** Certificates expired or expiring within 30 days. */
  expiryWarnings: string[]
  errors: string[]
  /** The earliest expiry among the certificates, epoch ms. */
  earliestExpiry?: number
}

const ARMOUR = /-----(BEGIN|END) CERTIFICATE-----/g
const DAY_MS = 86_400_000
const STRICT_PEM = /^-----BEGIN CERTIFICATE-----\r?\n(?:[A-Za-z0-9+/=]{1,76}\r?\n)+-----END CERTIFICATE-----$/

export function parseCertificates (raw: string, variable: string, nowMs = Date.now()): ParsedCertificates {
  const result: ParsedCertificates = { pems: [], warnings: [], expiryWarnings: [], errors: [] }
  const fixes = new Set<string>()
  let text = raw.trim()
  if (/^["']|["']$/.test(text)) fixes.add('quotes')
  if (text.includes('\\n')) fixes.add('literal \\n sequences')
  text = text.replace(/\\n/g, '\n')
  // A PEM bundle may separate certificates by armour alone; commas separate bare base64 ones.
  const pieces = text.replace(/-----END CERTIFICATE-----/g, '$&,').split(',').filter((p) => p.replace(/["'\s]/g, '') !== '')
  pieces.forEach((piece, index) => {
    const label = pieces.length > 1 ? `${variable} (certificate ${index + 1} of ${pieces.length})` : variable
    // A well-formed PEM block is the canonical form: nothing to say about its armour or lines.
    if (!STRICT_PEM.test(piece.trim())) {
      if (ARMOUR.test(piece)) fixes.add('PEM armour')
      ARMOUR.lastIndex = 0
      const inner = piece.replace(ARMOUR, '\n').replace(/^["'\s]+|["'\s]+$/g, '')
      if (/\n/.test(inner)) fixes.add('line breaks')
      if (/[ \t]/.test(inner)) fixes.add('spaces')
      if (/\r/.test(inner)) fixes.add('carriage returns')
    }
    if (/["']/.test(piece)) fixes.add('quotes')
    const body = piece.replace(ARMOUR, '').replace(/["'\s]/g, '')
    const bad = /[^A-Za-z0-9+/=]/.exec(body)
    if (bad) {
      result.errors.push(`${label}: character '${bad[0]}' at position ${bad.index + 1} is not base64; paste the "Certificate (Base64)" that Entra offers for download`)
      return
    }
    if (/^[0-9A-Fa-f]{40}$|^[0-9A-Fa-f]{64}$/.test(body)) {
      result.errors.push(`${label}: this looks like a certificate thumbprint, not the certificate; paste the "Certificate (Base64)" content`)
      return
    }
    const pem = certificatePem(body)
    let cert: X509Certificate
    try {
      cert = new X509Certificate(pem)
    } catch {
      result.errors.push(`${label}: ${body.length} base64 characters that do not decode to an X.509 certificate (truncated when pasted?)`)
      return
    }
    const expiry = Date.parse(cert.validTo)
    const days = Math.floor((expiry - nowMs) / DAY_MS)
    if (expiry <= nowMs) {
      result.expiryWarnings.push(`${label}: certificate "${cert.subject.replace(/\n/g, ', ')}" expired on ${new Date(expiry).toISOString()}; if the IdP has rolled over, paste the new one`)
    } else if (days < 30) {
      result.expiryWarnings.push(`${label}: certificate "${cert.subject.replace(/\n/g, ', ')}" expires in ${days} days (${new Date(expiry).toISOString()}); add the IdP's next certificate, comma-separated`)
    }
    result.earliestExpiry = Math.min(result.earliestExpiry ?? Infinity, expiry)
    result.pems.push(pem)
  })
  if (pieces.length === 0) result.errors.push(`${variable}: empty`)
  if (fixes.size > 0 && result.errors.length === 0) {
    result.warnings.push(`${variable}: removed ${[...fixes].join(', ')} from the pasted certificate; it parsed fine after that`)
  }
  return result
}
