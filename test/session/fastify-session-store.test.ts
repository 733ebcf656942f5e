import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import Fastify from 'fastify'
import t from 'tap'
import { FastifySessionStore } from '../../src/session/fastify-session-store.js'
import { MemoryStore } from '../../src/session/store-memory.js'
import type { GatewayStore, SessionData } from '../../src/session/store.js'

const SECRET = 'a-secret-with-at-least-thirty-two-characters'

/** A MemoryStore that remembers the TTL of every write, and can be made to fail. */
function recordingStore () {
  const inner = new MemoryStore()
  const ttls: number[] = []
  let failure: Error | undefined
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (failure !== undefined) throw failure
    return await fn()
  }
  const store: GatewayStore = {
    getSession: async sid => await guard(() => inner.getSession(sid)),
    setSession: async (sid, data, ttl) => { ttls.push(ttl); await guard(() => inner.setSession(sid, data, ttl)) },
    destroySession: async sid => await guard(() => inner.destroySession(sid)),
    sessionsOfNameId: async n => await inner.sessionsOfNameId(n),
    sessionsOfSessionIndex: async (n, i) => await inner.sessionsOfSessionIndex(n, i),
    putOnce: async (k, id, v, ttl) => await inner.putOnce(k, id, v, ttl),
    takeOnce: async (k, id) => await inner.takeOnce(k, id),
    putOnceBounded: async (k, id, v, ttl, max) => await inner.putOnceBounded(k, id, v, ttl, max),
    countSessions: async () => await inner.countSessions(),
    listSessions: async (filter) => await inner.listSessions(filter),
    createShared: async (name, value) => await inner.createShared(name, value),
    getShared: async (name) => await inner.getShared(name),
    replaceShared: async (name, expected, value) => await inner.replaceShared(name, expected, value),
    markAssertionUsed: async (id, until) => await inner.markAssertionUsed(id, until),
    ping: async () => await inner.ping(),
    close: async () => await inner.close()
  }
  return { store, ttls, fail: (err?: Error) => { failure = err } }
}

async function buildApp (store: GatewayStore, maxAge?: number) {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    cookie: { secure: false, maxAge },
    saveUninitialized: false,
    store: new FastifySessionStore(store, { defaultTtlMs: 8 * 3_600_000 })
  })
  app.post('/login', async request => {
    await request.session.regenerate()
    request.session.set('user', { nameId: 'alice', sessionIndex: '_i1', issuer: 'idp', claims: {}, authTime: 1 })
    return { ok: true }
  })
  app.get('/me', async request => ({ user: request.session.get('user') ?? null }))
  app.post('/logout', async request => { await request.session.destroy(); return { ok: true } })
  app.setErrorHandler((err, _request, reply) => { reply.code(503).send({ code: 'STORE_UNAVAILABLE', message: (err as Error).message }) })
  return app
}

declare module 'fastify' {
  interface Session { user?: SessionData['user'] }
}

t.test('@fastify/session keeps its sessions in the GatewayStore, indexed by NameID', async t => {
  const { store, ttls } = recordingStore()
  const app = await buildApp(store, 3_600_000)
  t.teardown(() => app.close())
  const login = await app.inject({ method: 'POST', url: '/login' })
  t.equal(login.statusCode, 200)
  const cookie = login.cookies.find(c => c.name === 'sessionId')!
  const [sid] = await store.sessionsOfNameId('alice')
  t.ok(sid, 'the session is in the NameID index')
  t.ok(ttls.at(-1)! > 3_590_000 && ttls.at(-1)! <= 3_600_000, 'TTL from the cookie maxAge')

  const me = await app.inject({ url: '/me', cookies: { sessionId: cookie.value } })
  t.same(me.json().user, { nameId: 'alice', sessionIndex: '_i1', issuer: 'idp', claims: {}, authTime: 1 })

  await app.inject({ method: 'POST', url: '/logout', cookies: { sessionId: cookie.value } })
  t.same(await store.sessionsOfNameId('alice'), [], 'logout destroys it')
  const after = await app.inject({ url: '/me', cookies: { sessionId: cookie.value } })
  t.same(after.json().user, null)
})

t.test('a cookie without maxAge or expires gets the default TTL', async t => {
  const { store, ttls } = recordingStore()
  const app = await buildApp(store)
  t.teardown(() => app.close())
  await app.inject({ method: 'POST', url: '/login' })
  t.equal(ttls.at(-1), 8 * 3_600_000)
})

t.test('store errors reach the app (which answers 503)', async t => {
  const { store, fail } = recordingStore()
  const app = await buildApp(store, 3_600_000)
  t.teardown(() => app.close())
  const login = await app.inject({ method: 'POST', url: '/login' })
  const cookie = login.cookies.find(c => c.name === 'sessionId')!
  fail(new Error('store down'))
  const me = await app.inject({ url: '/me', cookies: { sessionId: cookie.value } })
  t.equal(me.statusCode, 503)
  t.equal(me.json().message, 'store down')
  const again = await app.inject({ method: 'POST', url: '/login' })
  t.equal(again.statusCode, 503, 'a failing save too')
})

t.test('adapter on its own', async t => {
  const now = Date.UTC(2025, 0, 15)
  const { store, ttls } = recordingStore()
  const adapter = new FastifySessionStore(store, { defaultTtlMs: 1000, now: () => now })
  const call = async (fn: (cb: (err?: unknown, value?: unknown) => void) => void) =>
    await new Promise<unknown>((resolve, reject) => fn((err, value) => { err ? reject(err) : resolve(value) }))

  const user = { nameId: 'n', issuer: 'i', claims: {}, authTime: 0 }
  await call(cb => adapter.set('s1', { cookie: { expires: new Date(now + 5000), originalMaxAge: null }, user } as never, cb))
  t.equal(ttls.at(-1), 5000, 'TTL from cookie.expires')
  t.same(await call(cb => adapter.get('s1', cb)), { cookie: { expires: new Date(now + 5000).toISOString(), originalMaxAge: null }, user })
  await call(cb => adapter.set('s2', { cookie: { maxAge: 7000, originalMaxAge: 7000 } } as never, cb))
  t.equal(ttls.at(-1), 7000, 'TTL from cookie.maxAge')
  await call(cb => adapter.set('s1', { cookie: { expires: new Date(now - 1) } } as never, cb))
  t.equal(await call(cb => adapter.get('s1', cb)), null, 'a save with an expired cookie removes the session')
  await call(cb => adapter.destroy('s2', cb))
  t.equal(await call(cb => adapter.get('s2', cb)), null)
  t.throws(() => new FastifySessionStore(store, { defaultTtlMs: 0 }), RangeError)
})
