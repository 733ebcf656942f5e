// The attacks on the SLO endpoint: a LogoutRequest the test IdP signed for the attacker, wrapped so
// that it names the victim, and the Redirect binding's query played with. A success would end the
// victim's sessions.
import { edit, impersonate, remove, setContent, signatureOf, unsignedCopy } from './_dom.js'
import { wrapRoot } from './_xsw.js'
import { sign, type AttackSource } from './_source.js'
import { ATTACKER, LOOKALIKE, VICTIM, attack, billionLaughs, decoy, extensionsOf, first, withDoctype, type Attack } from './_attack.js'

/** An hour before the test clock: a LogoutRequest lifted from a log and replayed later. */
const STALE = '2025-01-15T11:00:00Z'

export function logoutAttacks (src: AttackSource): Attack[] {
  const genuine = (nameId = ATTACKER): string => src.logoutRequest({ nameId })
  const asVictim = impersonate(VICTIM)
  const strippedForVictim = (): string => edit(genuine(), (_d, root) => { remove(signatureOf(root)); asVictim(root) })
  // Redirect-binding attacks carry this as their document: through POST it is refused as unsigned.
  const unsignedForVictim = src.logoutRequest({ nameId: VICTIM, signed: false })

  return [
    attack({
      id: 'logout-xsw1',
      family: 'logout',
      title: 'evil LogoutRequest (victim) at the root; the signed one (unsigned copy) inside its ds:Signature',
      xml: wrapRoot('xsw1', genuine(), asVictim)
    }),
    attack({
      id: 'logout-xsw2',
      family: 'logout',
      title: 'evil LogoutRequest at the root; the signed one (unsigned copy) before its ds:Signature',
      xml: wrapRoot('xsw2', genuine(), asVictim)
    }),
    attack({
      id: 'logout-ds-object',
      family: 'logout',
      title: 'evil LogoutRequest keeps the signature; the signed one in a ds:Object',
      xml: wrapRoot('ds-object', genuine(), asVictim)
    }),
    attack({
      id: 'logout-signed-in-extensions',
      family: 'logout',
      title: 'unsigned evil LogoutRequest with the signed one in samlp:Extensions',
      xml: edit(genuine(), (doc, root) => {
        const evil = unsignedCopy(root)
        asVictim(evil)
        evil.setAttribute('ID', '_evil_logout')
        extensionsOf(doc, evil).appendChild(root.cloneNode(true))
        doc.replaceChild(evil, root)
      })
    }),
    attack({
      id: 'logout-signature-stripped',
      family: 'logout',
      keepsGenuineSignature: false,
      title: 'signature removed, NameID changed to the victim',
      xml: strippedForVictim()
    }),
    attack({
      id: 'logout-resigned-attacker-keyinfo',
      family: 'logout',
      keepsGenuineSignature: false,
      title: 'victim LogoutRequest re-signed with the attacker\'s key, its certificate in KeyInfo',
      xml: sign(strippedForVictim(), 'root', { signer: 'attacker', keyInfo: true })
    }),
    attack({
      id: 'logout-sha1',
      family: 'logout',
      title: 'victim LogoutRequest signed by the IdP with RSA-SHA1',
      xml: src.logoutRequest({ nameId: VICTIM, algorithm: 'sha1' })
    }),
    attack({
      id: 'logout-duplicate-id',
      family: 'logout',
      keepsGenuineSignature: false,
      title: 'an Extensions element carrying the signed LogoutRequest\'s ID',
      xml: edit(genuine(), (doc, root) => extensionsOf(doc, root).appendChild(decoy(doc, 'ID', root.getAttribute('ID')!)))
    }),
    attack({
      id: 'logout-doctype-billion-laughs',
      family: 'logout',
      title: 'billion laughs before a signed LogoutRequest',
      xml: withDoctype(genuine(), billionLaughs('samlp:LogoutRequest'))
    }),
    attack({
      id: 'logout-comment-in-nameid',
      family: 'logout',
      readAs: LOOKALIKE,
      title: `LogoutRequest for ${LOOKALIKE} split by a comment after \`${VICTIM}\``,
      xml: edit(genuine(LOOKALIKE), (_d, root) => setContent(first(root, 'NameID'), `${VICTIM}<!---->${LOOKALIKE.slice(VICTIM.length)}`))
    }),
    attack({
      id: 'logout-replayed-stale',
      family: 'logout',
      title: 'a genuine LogoutRequest for the victim, replayed an hour after it was issued',
      xml: src.logoutRequest({ nameId: VICTIM, issueInstant: STALE })
    }),

    // The Redirect binding: the query string is what is signed.
    attack({
      id: 'redirect-attacker-signature',
      family: 'logout (Redirect)',
      keepsGenuineSignature: false,
      title: 'victim LogoutRequest, query signed with the attacker\'s key',
      xml: unsignedForVictim,
      redirectQuery: src.logoutRedirect(unsignedForVictim, { signer: 'attacker' })
    }),
    attack({
      id: 'redirect-relaystate-added',
      family: 'logout (Redirect)',
      keepsGenuineSignature: false,
      title: 'IdP-signed query with a RelayState added after signing',
      xml: unsignedForVictim,
      redirectQuery: src.logoutRedirect(unsignedForVictim).replace('&SigAlg=', '&RelayState=%2fx&SigAlg=')
    }),
    attack({
      id: 'redirect-second-samlrequest',
      family: 'logout (Redirect)',
      title: 'IdP-signed query for the attacker with a second SAMLRequest (the victim) appended',
      xml: unsignedForVictim,
      redirectQuery: `${src.logoutRedirect(src.logoutRequest({ nameId: ATTACKER, signed: false }))}&${src.logoutRedirect(unsignedForVictim, { signer: 'none' })}`
    }),
    attack({
      id: 'redirect-sha1',
      family: 'logout (Redirect)',
      title: 'victim LogoutRequest, query signed by the IdP with RSA-SHA1',
      xml: unsignedForVictim,
      redirectQuery: src.logoutRedirect(unsignedForVictim, { algorithm: 'sha1' })
    }),
    attack({
      id: 'redirect-replayed-stale',
      family: 'logout (Redirect)',
      title: 'IdP-signed query for the victim, replayed an hour after it was issued',
      xml: unsignedForVictim,
      redirectQuery: src.logoutRedirect(src.logoutRequest({ nameId: VICTIM, signed: false, issueInstant: STALE }))
    })
  ]
}
