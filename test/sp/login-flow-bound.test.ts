// The AuthnRequest tracker is bounded: a flood of login clicks cannot fill the store, and past the
// bound the oldest outstanding requests go first while the newest stay answerable.
import t, { type Test } from 'tap'
import { LoginFlow, MAX_OUTSTANDING_AUTHN_REQUESTS } from '../../src/sp/login-flow.js'
import { responseExpectations } from '../../src/gateway.js'
import { MemoryStore } from '../../src/session/store-memory.js'
import { validateLoginResponse } from '../../src/sp/read/response.js'
import { buildTestApp } from '../helpers/app.js'
import { buildResponse, TEST_NOW } from '../helpers/idp.js'

async function flow (t: Test, max: number) {
  const { app, config } = await buildTestApp(t)
  const store = new MemoryStore({ now: () => TEST_NOW })
  t.teardown(() => store.close())
  const dropped: number[] = []
  const login = new LoginFlow({
    store,
    entities: app.gateway.entities,
    expectations: responseExpectations(config),
    validate: validateLoginResponse,
    claims: config.attributes,
    allowIdpInitiated: true,
    publicOrigin: config.publicOrigin,
    now: () => TEST_NOW,
    maxOutstandingRequests: max,
    onRequestsDropped: (n) => dropped.push(n)
  })
  return { login, store, dropped }
}

t.test('the default bound', async (t) => {
  t.equal(MAX_OUTSTANDING_AUTHN_REQUESTS, 10_000)
})

t.test('a flood of login clicks keeps at most the bound; the oldest go first, the newest stay answerable', async (t) => {
  const { login, dropped } = await flow(t, 5)
  const ids: string[] = []
  for (let i = 0; i < 50; i++) ids.push((await login.begin({ browserBinding: `flood-${i}`, returnTo: `/${'x'.repeat(2000)}` })).requestId)
  t.equal(dropped.reduce((a, b) => a + b, 0), 45, '45 dropped, and the caller was told each time')
  const mine = await login.begin({ browserBinding: 'alice', returnTo: '/queue' })
  // Alice's response comes back: hers is among the newest, so it is answerable.
  const result = await login.complete({ samlResponse: buildResponse({ inResponseTo: mine.requestId }), browserBinding: 'alice' })
  t.equal(result.returnTo, '/queue')
  // The oldest of the flood is gone: its answer is refused like any unknown request.
  await t.rejects(login.complete({ samlResponse: buildResponse({ inResponseTo: ids[0] }), browserBinding: 'flood-0' }), { code: 'SAML_IN_RESPONSE_TO' })
  // The newest of the flood is still there.
  const last = await login.complete({ samlResponse: buildResponse({ inResponseTo: ids[49] }), browserBinding: 'flood-49' })
  t.ok(last.returnTo?.startsWith('/x'))
})
