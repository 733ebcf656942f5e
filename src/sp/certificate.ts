// X.509 certificates as they arrive (bare base64 in XML metadata, in KeyInfo, pasted into .env):
// one way to turn their base64 body into the PEM that node:crypto reads.

/** PEM of a certificate whose DER is `base64` (whitespace ignored), in 64-character lines. */
export function certificatePem (base64: string): string {
  const body = base64.replace(/\s+/g, '')
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`
}
