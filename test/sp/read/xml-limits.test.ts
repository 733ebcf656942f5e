// Parser work before any check is bounded and off the event loop: the linear pre-scan refuses
// every shape of parser bomb before a DOM parser sees it, on the ACS and the SLO endpoint (both
// bindings, Redirect after inflating), within 20 ms of CPU; real SAML documents pass it; and the
// SLO endpoint parses in the validator workers, as the ACS does.
import t from 'tap'
import { deflateRawSync } from 'node:zlib'
import { DOMParser } from '@xmldom/xmldom'
import { errors } from '../../../src/errors.js'
import { prescanXml, XML_LIMITS } from '../../../src/sp/read/xml-limits.js'
import { validateLoginResponse } from '../../../src/sp/read/response.js'
import { readLogoutMessage } from '../../../src/sp/read/logout-message.js'
import { TEST_NOW, buildResponseXml, testExpectations, toBase64 } from '../../helpers/idp.js'
import { logoutRequestXml, logoutResponseXml, postValue, redirectQuery, SLO_URL } from '../../helpers/idp-logout.js'
import { buildTestApp } from '../../helpers/app.js'
import { newBrowser, send } from '../../helpers/login.js'
import { manyAttributes, nested, parserAttacks, wide } from '../../attacks/_parser-attacks.js'

/** CPU of this process (GC threads included: the least of several runs is the document's own cost). */
const cpuMs = (fn: () => void): number => {
  const start = process.cpuUsage()
  fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}
const leastOf = (runs: number, fn: () => void): number => Math.min(...Array.from({ length: runs }, () => cpuMs(fn)))
const codeOf = (fn: () => void): string | undefined => {
  try { fn(); return undefined } catch (err) { return (err as { code?: string }).code }
}
const logoutExp = { idpIssuers: ['https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/'], idpCerts: testExpectations().idpCerts, sloUrl: SLO_URL, allowSha1: false, clockSkewMs: 180_000, maxMessageBytes: 256 * 1024 }

t.test('real SAML documents pass the pre-scan', async (t) => {
  for (const [name, xml] of [
    ['an Entra response', buildResponseXml()],
    ['signed twice', buildResponseXml({ sign: 'both' })],
    ['150 group claims', buildResponseXml({ attributes: { groups: Array.from({ length: 150 }, (_, i) => `g${i}`) } })],
    ['a LogoutRequest', logoutRequestXml({ nameId: 'alice@contoso.com' })],
    ['a LogoutResponse', logoutResponseXml({ inResponseTo: '_x' })]
  ] as const) t.doesNotThrow(() => prescanXml(xml), name)
  t.doesNotThrow(() => prescanXml('<?xml version="1.0"?><!-- c --><a b=\'>\' c=">"><![CDATA[</a><b>]]><?pi x?></a>'), 'quotes, comments, CDATA and PIs are skipped, not read as markup')
})

t.test('each limit refuses with SAML_TOO_COMPLEX; broken markup with SAML_MALFORMED', async (t) => {
  const at = (n: number, s: string): string => s.repeat(n)
  t.throws(() => prescanXml(`${at(XML_LIMITS.maxDepth + 1, '<a>')}${at(XML_LIMITS.maxDepth + 1, '</a>')}`), { code: 'SAML_TOO_COMPLEX' }, 'depth')
  t.doesNotThrow(() => prescanXml(`${at(XML_LIMITS.maxDepth, '<a>')}${at(XML_LIMITS.maxDepth, '</a>')}`), 'depth at the limit')
  t.throws(() => prescanXml(`<r>${at(XML_LIMITS.maxElements, '<a/>')}</r>`), { code: 'SAML_TOO_COMPLEX' }, 'elements')
  t.throws(() => prescanXml(`<a ${Array.from({ length: XML_LIMITS.maxAttributesPerElement + 1 }, (_, i) => `x${i}="1"`).join(' ')}/>`), { code: 'SAML_TOO_COMPLEX' }, 'attributes on one element')
  t.throws(() => prescanXml(`<r>${at(XML_LIMITS.maxAttributes / 10 + 1, `<a ${Array.from({ length: 10 }, (_, i) => `x${i}="1"`).join(' ')}/>`)}</r>`), { code: 'SAML_TOO_COMPLEX' }, 'attributes in all')
  t.throws(() => prescanXml(`<r>${at(XML_LIMITS.maxNamespaceDeclarations / 2 + 1, '<a xmlns:a="u" xmlns:b="v"/>')}</r>`), { code: 'SAML_TOO_COMPLEX' }, 'namespace declarations in all')
  t.throws(() => prescanXml(`${at(XML_LIMITS.maxNamespacesInScope + 1, '<a xmlns:p="u">')}${at(XML_LIMITS.maxNamespacesInScope + 1, '</a>')}`), { code: 'SAML_TOO_COMPLEX' }, 'namespace declarations in scope')
  t.doesNotThrow(() => prescanXml(`<r>${at(500, '<a xmlns:p="u"/>')}</r>`), 'sibling declarations leave scope with their element')
  for (const broken of ['<a', '<a b=c/>', '<a b="1></a>', '</a>', '<a>', '<a><!-- x</a>', 'text only']) {
    t.equal(codeOf(() => prescanXml(broken)), 'SAML_MALFORMED', JSON.stringify(broken))
  }
  t.equal(codeOf(() => prescanXml('<!ELEMENT a ANY><a/>')), 'SAML_DOCTYPE')
  t.ok(new errors.SamlTooComplex('x').statusCode === 400)
})

t.test('the worst document of every shape costs under 20 ms of CPU to refuse, at every entry', async (t) => {
  const exp = testExpectations()
  validateLoginResponse(toBase64(buildResponseXml()), exp, TEST_NOW) // schemas compiled, code warm
  const before = cpuMs(() => new DOMParser({ errorHandler: { warning: () => {}, error: () => {} } }).parseFromString(nested(6_000, true), 'text/xml'))
  t.comment(`xmldom alone on the nested-namespace document: ${before.toFixed(0)} ms of CPU (what it cost before the pre-scan)`)
  for (const bomb of parserAttacks()) {
    const b64 = toBase64(bomb.xml)
    const query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(bomb.xml)).toString('base64'))}`
    const entries: Array<[string, () => void]> = [
      ['ACS', () => validateLoginResponse(b64, exp, TEST_NOW)],
      ['SLO POST', () => readLogoutMessage({ binding: 'post', body: { SAMLRequest: b64 } }, logoutExp, TEST_NOW)],
      ['SLO Redirect', () => readLogoutMessage({ binding: 'redirect', rawQuery: query }, logoutExp, TEST_NOW)]
    ]
    for (const [entry, run] of entries) {
      t.equal(codeOf(run), 'SAML_TOO_COMPLEX', `${bomb.id} at ${entry}`)
      const cost = leastOf(7, () => codeOf(run))
      t.ok(cost < 20, `${bomb.id} at ${entry}: ${cost.toFixed(2)} ms of CPU (least of 7)`)
    }
  }
})

t.test('the largest documents within the limits stay cheap too', async (t) => {
  const exp = testExpectations()
  const shapes: Array<[string, string]> = [
    ['depth at the limit, namespaces in scope at the limit', nested(XML_LIMITS.maxDepth - 2, true)],
    ['elements at the limit', wide(XML_LIMITS.maxElements - 10)],
    ['attributes at the limit', wide(XML_LIMITS.maxAttributes / XML_LIMITS.maxAttributesPerElement - 5).replace(/<e\/>/g, `<e ${Array.from({ length: XML_LIMITS.maxAttributesPerElement }, (_, i) => `a${i}="x"`).join(' ')}/>`)],
    ['namespace declarations at the limit', wide(XML_LIMITS.maxNamespaceDeclarations / 6 - 5, 6)],
    ['one element with the most attributes', manyAttributes(XML_LIMITS.maxAttributesPerElement)],
    ['elements, attributes and namespace declarations near their limits at once', wide(XML_LIMITS.maxElements - 10)
      .replace(/<e\/>/g, (_m, offset: number) => offset % 4 === 0 ? '<e xmlns:n="u"/>' : '<e a="1"/>')]
  ]
  for (const [name, xml] of shapes) {
    const b64 = toBase64(xml)
    t.ok(b64.length <= 256 * 1024, `${name}: within the body limit (${b64.length} base64 characters)`)
    t.not(codeOf(() => prescanXml(xml)), 'SAML_TOO_COMPLEX', `${name}: passes the pre-scan`)
    const cost = leastOf(7, () => codeOf(() => validateLoginResponse(b64, exp, TEST_NOW)))
    // Speed is the benchmark's to judge (BENCH_SECTIONS=parser-flood); here the cost is only reported.
    t.comment(`${name}: refused later for ${cost.toFixed(2)} ms of CPU (least of 7)`)
  }
})

t.test('over HTTP: refused at the ACS and the SLO endpoint, and the SLO endpoint parses in the validator workers', async (t) => {
  const h = await buildTestApp(t, { env: { GATEWAY_VALIDATION_WORKERS: '1', GATEWAY_RATE_LIMIT: '0' } })
  const bomb = nested(6_000, true)
  for (const [url, form] of [['/api/auth/saml/callback', { SAMLResponse: toBase64(bomb) }], ['/api/auth/saml/logout/callback', { SAMLRequest: toBase64(bomb) }]] as const) {
    const res = await send(h.app, newBrowser(), { url, form, headers: { accept: 'application/json' } })
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().error, 'SAML_TOO_COMPLEX', url)
  }
  const redirect = await send(h.app, newBrowser(), { url: `/api/auth/saml/logout/callback?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(bomb)).toString('base64'))}`, headers: { accept: 'application/json' } })
  t.equal(redirect.json().error, 'SAML_TOO_COMPLEX', 'Redirect binding, after inflating')

  const { acquireValidatorPool } = await import('../../../src/runtime/shared-validator-pool.js')
  const lease = await acquireValidatorPool({ size: 1 })
  t.teardown(() => lease.release())
  const before = lease.pool.stats().validated
  const res = await send(h.app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { SAMLRequest: postValue(logoutRequestXml({ nameId: 'nobody@contoso.com' })) } })
  t.ok(res.statusCode < 500, `a LogoutRequest answered ${res.statusCode}`)
  const query = redirectQuery(logoutRequestXml({ nameId: 'nobody@contoso.com' }))
  await send(h.app, newBrowser(), { url: `/api/auth/saml/logout/callback?${query}` })
  t.equal(lease.pool.stats().validated - before, 2, 'both bindings were read by a validator worker')
})
