// A SAML message as it arrives in an HTTP-POST form: the bytes of the field, still percent-encoded.
// The form parser leaves SAMLResponse and SAMLRequest like this, and they are decoded where they
// are read, in a validator worker: a message near the body limit is ~230 KB of percent-encoded
// base64, and decoding it took ~2 ms of the event loop per request, one client's flood of such
// bodies enough to slow every other request. The bytes stay in the pieces the body arrived in:
// not even joined on the event loop (each join is one more body-sized buffer for its collector).

export interface FormEncoded {
  /** The field's bytes as they came in the body, between its '=' and the next '&', in pieces. */
  readonly formEncoded: Uint8Array[]
}

/** A SAML message field: decoded text (tests, the Redirect binding), or the form's bytes. */
export type SamlMessageField = string | FormEncoded

export function isFormEncoded (value: unknown): value is FormEncoded {
  if (typeof value !== 'object' || value === null) return false
  const pieces = (value as FormEncoded).formEncoded
  return Array.isArray(pieces) && pieces.every((piece) => piece instanceof Uint8Array)
}

/** A field that holds a message at all: a non-empty string or form value. */
export function isSamlMessageField (value: unknown): value is SamlMessageField {
  return typeof value === 'string' ? value !== '' : isFormEncoded(value) && sentLength(value) > 0
}

/** Its length as sent: an upper bound of the decoded text's (a percent escape is 3 bytes for 1). */
export function sentLength (field: SamlMessageField): number {
  if (typeof field === 'string') return field.length
  let length = 0
  for (const piece of field.formEncoded) length += piece.length
  return length
}

const PLUS = 0x2b
const PERCENT = 0x25

/**
 * The field's text, as application/x-www-form-urlencoded decodes it: '+' is a space, %XX a byte,
 * the bytes UTF-8. A '%' without two hex digits after it stays as it is (as the form parser does
 * for the other fields); bytes that are not UTF-8 become U+FFFD, which no base64 check accepts.
 */
export function fieldText (field: SamlMessageField): string {
  if (typeof field === 'string') return field
  const pieces = field.formEncoded
  const bytes = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces)
  if (!bytes.includes(PLUS) && !bytes.includes(PERCENT)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')
  const out = Buffer.allocUnsafe(bytes.length)
  let n = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]
    if (byte === PLUS) {
      out[n++] = 0x20
      continue
    }
    if (byte === PERCENT) {
      const high = hexValue(bytes[i + 1])
      const low = hexValue(bytes[i + 2])
      if (high >= 0 && low >= 0) {
        out[n++] = high * 16 + low
        i += 2
        continue
      }
    }
    out[n++] = byte
  }
  return out.toString('utf8', 0, n)
}

function hexValue (byte: number | undefined): number {
  if (byte === undefined) return -1
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1
}
