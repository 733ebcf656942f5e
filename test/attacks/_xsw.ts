// The eight classic XML Signature Wrapping permutations (Somorovsky et al., "On Breaking SAML: Be
// Whoever You Want to Be", USENIX Security 2012), built as SAML Raider's XSWHelpers builds them:
// the attacker keeps the IdP's genuine signature, moves the signed element (or an unsigned copy of
// it) where a careless verifier still finds it by ID, and puts an edited ("evil") copy where a
// careless consumer reads it.
//
// One deliberate difference: SAML Raider's XSW7 and XSW8 keep the evil copy's ID equal to the
// signed one. xml-crypto 6 refuses any document with two elements of one ID, so those two would
// not be real attacks on an xml-crypto verifier; here the evil copy gets its own ID, as in XSW3-6,
// and the same-ID forms are catalogued separately under "duplicate ID".
import { NS, assertionOf, createIn, edit, signatureOf, unsignedCopy } from './_dom.js'

export type XswKind = 'xsw1' | 'xsw2' | 'xsw3' | 'xsw4' | 'xsw5' | 'xsw6' | 'xsw7' | 'xsw8'
export const XSW_KINDS: readonly XswKind[] = ['xsw1', 'xsw2', 'xsw3', 'xsw4', 'xsw5', 'xsw6', 'xsw7', 'xsw8']

export const EVIL_RESPONSE_ID = '_evil_response_ID'
export const EVIL_ASSERTION_ID = '_evil_assertion_ID'

/** What each permutation does, for the table in SECURITY.md. */
export const XSW_TITLES: Record<XswKind, string> = {
  xsw1: 'XSW1: evil Response at the root; the signed Response (unsigned copy) inside its ds:Signature',
  xsw2: 'XSW2: evil Response at the root; the signed Response (unsigned copy) before its ds:Signature',
  xsw3: 'XSW3: evil unsigned Assertion before the signed one',
  xsw4: 'XSW4: evil unsigned Assertion wrapping the signed one',
  xsw5: 'XSW5: evil Assertion keeps the signature; an unsigned copy of the original at the end of the Response',
  xsw6: 'XSW6: evil Assertion keeps the signature; an unsigned copy of the original inside that ds:Signature',
  xsw7: 'XSW7: evil unsigned Assertion in an (unqualified) Extensions element before the signed one',
  xsw8: 'XSW8: evil Assertion keeps the signature; an unsigned copy of the original in an Object inside it'
}

/**
 * Applies one permutation to `signedXml`. XSW1 and XSW2 need a signed Response (they wrap the
 * root); XSW3 to XSW8 a signed Assertion. `tamper` edits the evil copy (e.g. its NameID).
 */
export function xsw (kind: XswKind, signedXml: string, tamper: (evil: Element) => void): string {
  return edit(signedXml, (doc, root) => {
    switch (kind) {
      case 'xsw1':
      case 'xsw2': {
        const original = unsignedCopy(root)
        tamper(root)
        const signature = signatureOf(root)
        if (kind === 'xsw1') signature.appendChild(original)
        else root.insertBefore(original, signature)
        root.setAttribute('ID', EVIL_RESPONSE_ID)
        return
      }
      case 'xsw3':
      case 'xsw4':
      case 'xsw7': {
        const assertion = assertionOf(root)
        const evil = unsignedCopy(assertion)
        tamper(evil)
        evil.setAttribute('ID', EVIL_ASSERTION_ID)
        if (kind === 'xsw3') {
          root.insertBefore(evil, assertion)
        } else if (kind === 'xsw4') {
          root.appendChild(evil)
          evil.appendChild(assertion)
        } else {
          const extensions = doc.createElement('Extensions')
          root.insertBefore(extensions, assertion)
          extensions.appendChild(evil)
        }
        return
      }
      case 'xsw5':
      case 'xsw6':
      case 'xsw8': {
        const evil = assertionOf(root)
        const original = unsignedCopy(evil)
        tamper(evil)
        evil.setAttribute('ID', EVIL_ASSERTION_ID)
        const signature = signatureOf(evil)
        if (kind === 'xsw5') {
          root.appendChild(original)
        } else if (kind === 'xsw6') {
          signature.appendChild(original)
        } else {
          const object = doc.createElement('Object')
          signature.appendChild(object)
          object.appendChild(original)
        }
      }
    }
  })
}

/** The XSW1/XSW2 shapes for any signed root (a LogoutRequest): the evil root keeps the signature. */
export function wrapRoot (kind: 'xsw1' | 'xsw2' | 'ds-object', signedXml: string, tamper: (evil: Element) => void): string {
  return edit(signedXml, (doc, root) => {
    const original = unsignedCopy(root)
    tamper(root)
    const signature = signatureOf(root)
    if (kind === 'xsw1') signature.appendChild(original)
    else if (kind === 'xsw2') root.insertBefore(original, signature)
    else signature.appendChild(createIn(doc, NS.ds, 'ds:Object')).appendChild(original)
    root.setAttribute('ID', `${root.getAttribute('ID') ?? ''}_evil`)
  })
}
