// src/sp/read/signature.ts uses parts of xml-crypto that its typings keep private: SignedXml's
// `references`, `loadReference`, `canonicalize`, `canonicalizationAlgorithm`, `signatureAlgorithm`,
// and `findChildren` / `findAncestorNsForElement` from xml-crypto/lib/utils. xml-crypto is pinned to
// one exact version for that reason; this test says which internal changed when it is upgraded.
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { SignedXml } from 'xml-crypto'
import * as utils from 'xml-crypto/lib/utils.js'
import { NS, parseXml } from '../../../src/sp/read/xml.js'
import { REPO_ROOT, buildResponseXml } from '../../helpers/idp.js'

interface Internals {
  canonicalizationAlgorithm?: string
  signatureAlgorithm?: string
  references: unknown[]
  loadReference: (reference: Element) => void
  canonicalize: (transforms: readonly string[], node: Node, options: Record<string, unknown>, flags: { discardComments: boolean }) => string
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'

t.test('xml-crypto is the exact version package.json pins', async (t) => {
  const pinned = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).dependencies['xml-crypto'] as string
  t.match(pinned, /^\d+\.\d+\.\d+$/, 'an exact version, no range: a minor release may change the internals used')
  const installed = createRequire(import.meta.url)('xml-crypto/package.json').version as string
  t.equal(installed, pinned, 'installed = pinned')
})

t.test('the private members signature.ts relies on are there, with the shapes it uses', async (t) => {
  const sig = new SignedXml({ publicCert: 'unused', getCertFromKeyInfo: () => null }) as unknown as Internals
  t.type(sig.loadReference, 'function', 'SignedXml#loadReference')
  t.type(sig.canonicalize, 'function', 'SignedXml#canonicalize')
  t.equal(sig.canonicalize.length, 4, 'canonicalize (transforms, node, options, { discardComments })')
  t.ok(Array.isArray(sig.references), 'SignedXml#references is an array')
  t.type(utils.findChildren, 'function', 'utils.findChildren')
  t.type(utils.findAncestorNsForElement, 'function', 'utils.findAncestorNsForElement')
})

t.test('loadSignature, loadReference and canonicalize do what signature.ts expects of them', async (t) => {
  const doc = parseXml(buildResponseXml())
  const assertion = doc.getElementsByTagNameNS(NS.saml, 'Assertion')[0]
  const signature = utils.findChildren(assertion, 'Signature')[0] as Element
  const signedXml = new SignedXml({ publicCert: 'unused', getCertFromKeyInfo: () => null })
  const sig = signedXml as unknown as Internals
  signedXml.loadSignature(signature)
  t.equal(sig.canonicalizationAlgorithm, EXC_C14N, 'canonicalizationAlgorithm read from SignedInfo')
  t.equal(sig.signatureAlgorithm, RSA_SHA256, 'signatureAlgorithm read from SignedInfo')

  sig.references = []
  const signedInfo = utils.findChildren(signature, 'SignedInfo')[0] as Element
  sig.loadReference(utils.findChildren(signedInfo, 'Reference')[0] as Element)
  t.equal(sig.references.length, 1, 'loadReference appends to references')
  const ref = signedXml.getReferences()[0]
  t.equal(ref.uri, `#${assertion.getAttribute('ID')}`, 'uri')
  t.ok(Array.isArray(ref.transforms) && ref.transforms.length === 2, 'transforms')
  t.type(ref.digestValue, 'string', 'digestValue')
  t.ok(Array.isArray(ref.inclusiveNamespacesPrefixList), 'inclusiveNamespacesPrefixList')

  const canon = sig.canonicalize([...ref.transforms] as string[], assertion, {
    inclusiveNamespacesPrefixList: ref.inclusiveNamespacesPrefixList,
    ancestorNamespaces: utils.findAncestorNsForElement(assertion)
  }, { discardComments: true })
  t.notMatch(canon, /<ds:Signature/, 'the enveloped signature is removed')
  const digest = crypto.createHash('sha256').update(canon, 'utf8').digest('base64')
  t.equal(digest, ref.digestValue, 'the canonical bytes are the ones the IdP digested')
})
