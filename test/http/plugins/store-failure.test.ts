// A store that fails while a login writes its session answers 503 STORE_UNAVAILABLE in our own
// shape, like every other store failure: not Fastify's fallback body (which a second failed save,
// on the way out with the error page, would otherwise produce).
import t from 'tap'
import { buildTestApp } from '../../helpers/app.js'
import { authnRequestOf, newBrowser, send } from '../../helpers/login.js'
import { buildResponse } from '../../helpers/idp.js'
import { MemoryStore } from '../../../src/session/store-memory.js'
import { TEST_NOW } from '../../helpers/idp.js'

t.test('setSession fails at the ACS: 503 STORE_UNAVAILABLE with a correlation id', async (t) => {
  const store = new MemoryStore({ now: () => TEST_NOW })
  let failWrites = false
  const setSession = store.setSession.bind(store)
  store.setSession = async (...args) => {
    if (failWrites) throw new Error('READONLY You can\'t write against a read only replica.')
    return await setSession(...args)
  }
  const { app } = await buildTestApp(t, { deps: { store } })
  const browser = newBrowser()
  const start = await send(app, browser, { url: '/api/auth/saml' })
  failWrites = true
  const acs = await send(app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: authnRequestOf(start.headers.location as string).id }) }, headers: { accept: 'application/json' } })
  t.equal(acs.statusCode, 503)
  t.equal(acs.json().error, 'STORE_UNAVAILABLE')
  t.type(acs.json().correlationId, 'string')
  const page = await send(app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: null }) }, headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 503)
  t.match(page.body, /STORE_UNAVAILABLE/)
})
