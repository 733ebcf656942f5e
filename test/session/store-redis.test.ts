import { randomUUID } from 'node:crypto'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import t from 'tap'
import { RedisStore } from '../../src/session/store-redis.js'
import type { GatewayStore } from '../../src/session/store.js'
import { startRedis } from '../helpers/redis-server.js'
import { needsTools, redisMissing } from '../helpers/tools.js'
import { fixedClock, storeContract, type StoredRecord } from './_store-contract.js'

needsTools(redisMissing())
const server = await startRedis()
t.teardown(() => server.stop())
const raw = new Redis(server.url)
t.teardown(() => raw.quit())
const prefix = (): string => `test-${randomUUID()}:`

const keyOf = (store: RedisStore, record: StoredRecord): string =>
  'session' in record
    ? store.sessionKey(record.session)
    : 'once' in record ? store.onceKey(...record.once) : store.replayKey(record.replay)

storeContract(t, {
  open: async clock => new RedisStore(server.url, { now: clock.now, prefix: prefix() }),
  remainingTtl: async (store: GatewayStore, record) => await raw.pttl(keyOf(store as RedisStore, record))
})

const user = (nameId: string, sessionIndex?: string) =>
  ({ nameId, sessionIndex, issuer: 'idp', claims: {}, authTime: 0 })

t.test('keys carry the prefix; index sets live as long as their longest session', async t => {
  const p = prefix()
  const store = new RedisStore(server.url, { prefix: p })
  t.teardown(() => store.close())
  await store.setSession('long', { cookie: {}, user: user('alice', '_i1') }, 20 * 60_000)
  await store.setSession('short', { cookie: {}, user: user('alice', '_i1') }, 60_000)
  const keys = (await raw.keys(`${p}*`)).sort()
  t.same(keys, [`${p}nameid:alice`, `${p}sess:long`, `${p}sess:short`, `${p}sessionindex:alice:_i1`])
  for (const key of [`${p}nameid:alice`, `${p}sessionindex:alice:_i1`]) {
    const ttl = await raw.pttl(key)
    t.ok(ttl > 19 * 60_000 && ttl <= 20 * 60_000, `${key} TTL ${ttl} not lowered by the shorter session`)
  }
  await store.setSession('short', { cookie: {}, user: user('alice', '_i1') }, 30 * 60_000)
  t.ok(await raw.pttl(`${p}nameid:alice`) > 29 * 60_000, 'saving again with a longer TTL raises the index TTL too')
})

t.test('index members whose session is gone are filtered out on read and dropped', async t => {
  const p = prefix()
  const store = new RedisStore(server.url, { prefix: p })
  t.teardown(() => store.close())
  await store.setSession('s1', { cookie: {}, user: user('alice', '_i1') }, 60_000)
  await store.setSession('s2', { cookie: {}, user: user('alice', '_i1') }, 60_000)
  await raw.del(store.sessionKey('s1')) // as if its TTL had run out
  t.same(await store.sessionsOfNameId('alice'), ['s2'])
  t.same(await store.sessionsOfSessionIndex('alice', '_i1'), ['s2'])
  t.same(await raw.smembers(`${p}nameid:alice`), ['s2'], 'the stale member is gone from the set')
})

t.test('several instances (separate connections) race for one value and one assertion', async t => {
  const p = prefix()
  const stores = Array.from({ length: 5 }, () => new RedisStore(server.url, { prefix: p }))
  t.teardown(async () => { for (const s of stores) await s.close() })
  await stores[0]!.putOnce('authn', '_r', 'v', 60_000)
  const takes = await Promise.all(Array.from({ length: 50 }, async (_, i) => await stores[i % 5]!.takeOnce('authn', '_r')))
  t.same(takes.filter(v => v !== null), ['v'])
  const until = Date.now() + 60_000
  const marks = await Promise.all(Array.from({ length: 50 }, async (_, i) => await stores[i % 5]!.markAssertionUsed('_a', until)))
  t.equal(marks.filter(Boolean).length, 1)
})

t.test('a client of the caller is used as is and left open by close()', async t => {
  const client = new Redis(server.url)
  t.teardown(() => client.quit())
  const store = new RedisStore(client, { prefix: prefix() })
  await store.putOnce('authn', '_r', 'v', 60_000)
  t.equal(await store.takeOnce('authn', '_r'), 'v')
  await store.close()
  t.equal(await client.ping(), 'PONG')
})

t.test('outage: fails fast, never crashes, and recovers by itself', async t => {
  const own = await startRedis()
  t.teardown(() => own.stop())
  const warnings: string[] = []
  const infos: string[] = []
  const logger = { warn: (_: object, msg?: string) => { warnings.push(msg ?? '') }, info: (_: object, msg?: string) => { infos.push(msg ?? '') } }
  const clock = fixedClock()
  const store = new RedisStore(own.url, { logger, now: clock.now, prefix: prefix() })
  t.teardown(() => store.close())
  await store.ping()

  await own.stop()
  const session = { cookie: {}, user: user('alice', '_i1') }
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['ping', async () => await store.ping()],
    ['getSession', async () => await store.getSession('s1')],
    ['setSession', async () => await store.setSession('s1', session, 60_000)],
    ['destroySession', async () => await store.destroySession('s1')],
    ['sessionsOfNameId', async () => await store.sessionsOfNameId('alice')],
    ['sessionsOfSessionIndex', async () => await store.sessionsOfSessionIndex('alice', '_i1')],
    ['putOnce', async () => await store.putOnce('authn', '_r', 'v', 60_000)],
    ['takeOnce', async () => await store.takeOnce('authn', '_r')],
    ['markAssertionUsed', async () => await store.markAssertionUsed('_a', clock.now() + 60_000)]
  ]
  for (let round = 0; round < 2; round++) {
    for (const [name, call] of calls) {
      const started = Date.now()
      await t.rejects(call(), `${name} rejects while Redis is down`)
      const took = Date.now() - started
      t.ok(took < 1000, `${name} rejected in ${took} ms`)
    }
  }

  await own.restart()
  await eventually(async () => await store.ping())
  await store.setSession('s1', session, 60_000)
  t.same(await store.sessionsOfSessionIndex('alice', '_i1'), ['s1'], 'the same store works again')
  t.match(warnings[0], /disconnected/, 'the outage was logged through the logger')
  t.ok(warnings.length <= 2, 'once (plus its first error), not once per reconnect attempt')
  t.same(infos, ['redis session store: reachable again'], 'and so was the recovery')
})

t.test('a store made while Redis is down fails fast, then works once Redis is up', async t => {
  const own = await startRedis()
  t.teardown(() => own.stop())
  await own.stop()
  const store = new RedisStore(own.url, { prefix: prefix(), logger: { warn: () => {} } })
  t.teardown(() => store.close())
  const started = Date.now()
  await t.rejects(store.getSession('s1'))
  t.ok(Date.now() - started < 1000, 'rejected within a second')
  await own.restart()
  await eventually(async () => await store.ping())
  t.equal(await store.getSession('s1'), null)
})

t.test('a Redis that accepts connections but never answers: rejects within the command timeout', async t => {
  const sockets = new Set<Socket>()
  const silent = createServer(socket => { sockets.add(socket) })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    await store.close()
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => silent.close(resolve))
  })
  const { port } = silent.address() as AddressInfo
  const store = new RedisStore(`redis://127.0.0.1:${port}`, { prefix: prefix(), commandTimeoutMs: 800, logger: { warn: () => {} } })
  const calls: Array<() => Promise<unknown>> = [async () => await store.getSession('s1'), async () => await store.ping()]
  for (const call of calls) {
    const started = Date.now()
    await t.rejects(call())
    t.ok(Date.now() - started < 1000, `rejected in ${Date.now() - started} ms`)
  }
})

/** Retry until it succeeds: reconnecting takes a retry delay or two. Fails after 5 s. */
async function eventually (fn: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      await fn()
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}
