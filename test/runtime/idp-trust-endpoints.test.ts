import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { IdpTrust } from '../../src/runtime/idp-trust.js'
import { POST, REDIRECT, idpMetadataXml } from '../helpers/idp-metadata.js'
import { TEST_NOW } from '../helpers/idp.js'

t.test('a metadata refresh that names other endpoints warns that they take a restart; certificates still refresh alone', async (t) => {
  let xml = idpMetadataXml({ entityId: 'https://idp.example.org', sso: [[REDIRECT, 'https://idp.example.org/sso']] })
  const server = createServer((_req, res) => { res.writeHead(200).end(xml) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const warnings: Array<Record<string, unknown>> = []
  const logger = { info () {}, error () {}, warn (obj: object) { warnings.push(obj as Record<string, unknown>) } }
  const trust = new IdpTrust({ issuers: [], certs: [], metadataUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/md`, logger, now: () => TEST_NOW })
  await trust.refresh()
  t.same(trust.metadata?.sso, [{ binding: 'redirect', url: 'https://idp.example.org/sso' }], 'the endpoints, with their binding')
  t.same(trust.issuers, ['https://idp.example.org'])
  await trust.refresh()
  t.notOk(warnings.some((w) => w.code === 'IDP_ENDPOINTS_CHANGED'), 'the same endpoints: nothing to say')

  xml = idpMetadataXml({ entityId: 'https://idp.example.org', sso: [[POST, 'https://idp2.example.org/sso']], slo: [[POST, 'https://idp2.example.org/slo']] })
  await trust.refresh()
  const warning = warnings.find((w) => w.code === 'IDP_ENDPOINTS_CHANGED')
  t.ok(warning, 'warned')
  t.same(warning?.sso, [{ binding: 'post', url: 'https://idp2.example.org/sso' }])
})
