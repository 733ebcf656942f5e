// A gateway restart with the SQLite store: a new app on the same GATEWAY_DATA_DIR keeps the
// sessions (and the cookie secret that signs their cookie), the identity key and the replay cache,
// so a person signed in before the restart is not sent back to the IdP after it.
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { baseEnv, ENTRA_ENTRYPOINT, tempDir, TEST_NOW } from '../helpers/app.js'
import { loginThroughIdp, newBrowser, send } from '../helpers/login.js'
import { startUpstream } from '../helpers/upstream.js'

async function restartable (t: Test, store: 'sqlite' | 'memory') {
  const dataDir = tempDir(t)
  const running: { app?: FastifyInstance } = {}
  const upstream = await startUpstream({
    issuer: 'https://motion.example.com/api/auth/saml',
    jwks: () => running.app!.gateway.identityKeys.jwks,
    now: () => TEST_NOW
  })
  t.teardown(() => upstream.close())
  const config = loadConfig({
    env: baseEnv({ GATEWAY_SESSION_STORE: store, GATEWAY_DATA_DIR: dataDir, GATEWAY_UPSTREAM_LOGIN_URL: upstream.url }),
    cwd: dataDir,
    now: TEST_NOW
  })
  /** Closes the running app, if any, and builds a new one on the same configuration and data dir. */
  const restart = async (): Promise<FastifyInstance> => {
    await running.app?.close()
    const app = await buildApp(config, { logger: false, now: () => TEST_NOW })
    running.app = app
    return app
  }
  t.teardown(() => running.app?.close())
  return { dataDir, upstream, restart }
}

t.test('SQLite store: a session made before a restart skips the IdP after it', async (t) => {
  const { dataDir, upstream, restart } = await restartable(t, 'sqlite')
  const before = await restart()
  const browser = newBrowser()
  const { acs, samlResponse } = await loginThroughIdp(before, browser)
  t.equal(acs.statusCode, 302, 'signed in')
  t.ok(browser.jar['__Host-saml_gateway_session'], 'with a gateway session cookie')
  t.ok(existsSync(join(dataDir, 'sessions.sqlite')), 'kept in <GATEWAY_DATA_DIR>/sessions.sqlite')
  const kid = before.gateway.identityKeys.kid

  const after = await restart()
  t.equal(after.gateway.identityKeys.kid, kid, 'the identity key is the one kept in the data dir')

  const again = await send(after, browser, { url: '/api/auth/saml?returnTo=/after-restart' })
  t.equal(again.statusCode, 302)
  t.equal(again.headers.location, '/welcome', "the upstream's answer, not a redirect to the IdP")
  t.equal(upstream.calls.length, 2, 'handed off again')
  const [first, second] = upstream.calls
  t.equal(second.identityError, undefined, 'the upstream verified the new handoff')
  t.same(second.body, { returnTo: '/after-restart' })
  t.equal(second.identity?.sub, first.identity?.sub)
  t.equal(second.identity?.sid, first.identity?.sid, 'the same gateway session')

  const session = await send(after, browser, { url: '/api/auth/saml/session' })
  t.equal(session.statusCode, 200)
  t.equal(session.json().nameId, first.identity?.sub)

  const replay = await send(after, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse }, headers: { accept: 'application/json' } })
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'SAML_REPLAY', 'the replay cache survived too')
  t.equal(upstream.calls.length, 2)
})

t.test('memory store (the control): a restart forgets the session, so login goes to the IdP again', async (t) => {
  const { restart } = await restartable(t, 'memory')
  const browser = newBrowser()
  const { acs } = await loginThroughIdp(await restart(), browser)
  t.equal(acs.statusCode, 302)
  const again = await send(await restart(), browser, { url: '/api/auth/saml?returnTo=/' })
  t.equal(again.statusCode, 302)
  t.ok(String(again.headers.location).startsWith(ENTRA_ENTRYPOINT), 'back to the IdP')
})
