import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mock } from 'node:test'
import Database from 'better-sqlite3'
import t from 'tap'
import { SqliteStore } from '../../src/session/store-sqlite.js'
import { fixedClock, storeContract } from './_store-contract.js'

const dir = mkdtempSync(join(tmpdir(), 'saml-gateway-sqlite-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshPath = (): string => join(dir, `store-${++files}.sqlite`)

storeContract(t, { open: async clock => new SqliteStore({ path: freshPath(), now: clock.now }) })

t.test('reopening the file after close finds everything still there', async t => {
  const clock = fixedClock()
  const path = freshPath()
  const first = new SqliteStore({ path, now: clock.now })
  const data = { cookie: { path: '/' }, user: { nameId: 'alice', sessionIndex: '_i1', issuer: 'idp', claims: { groups: ['a'] }, authTime: 5 } }
  await first.setSession('s1', data, 60_000)
  await first.putOnce('logout', '_lr1', 'v', 60_000)
  t.equal(await first.markAssertionUsed('_a1', clock.now() + 60_000), true)
  await first.close()

  const second = new SqliteStore({ path, now: clock.now })
  t.teardown(() => second.close())
  t.same(await second.getSession('s1'), data, 'the session survived')
  t.same(await second.sessionsOfSessionIndex('alice', '_i1'), ['s1'], 'and its index')
  t.equal(await second.takeOnce('logout', '_lr1'), 'v', 'and the one-time value')
  t.equal(await second.markAssertionUsed('_a1', clock.now() + 60_000), false, 'and the replay cache')
})

t.test('the file is in WAL mode', async t => {
  const path = freshPath()
  const store = new SqliteStore({ path })
  t.teardown(() => store.close())
  const db = new Database(path, { readonly: true })
  t.teardown(() => db.close())
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
})

t.test('purgeExpired deletes expired rows of every table', async t => {
  const clock = fixedClock()
  const path = freshPath()
  const store = new SqliteStore({ path, now: clock.now })
  t.teardown(() => store.close())
  await store.setSession('short', { cookie: {} }, 1000)
  await store.setSession('long', { cookie: {} }, 10_000)
  await store.putOnce('authn', 'r', 'v', 1000)
  await store.markAssertionUsed('a', clock.now() + 1000)
  t.equal(store.purgeExpired(), 0, 'nothing before expiry')
  clock.advance(1000)
  t.equal(store.purgeExpired(), 3, 'the three expired rows')
  t.ok(await store.getSession('long'), 'the live one stays')
})

t.test('the purge timer runs, and close stops it', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = fixedClock()
  const store = new SqliteStore({ path: freshPath(), now: clock.now, purgeIntervalMs: 1000 })
  let purged = 0
  const purge = store.purgeExpired.bind(store)
  store.purgeExpired = () => { const n = purge(); purged += n; return n }
  await store.putOnce('authn', 'r1', 'v', 1000)
  await store.putOnce('authn', 'r2', 'v', 1000)
  clock.advance(1000)
  mock.timers.tick(1000)
  t.equal(purged, 2, 'a tick purges')
  await store.close()
  mock.timers.tick(5000)
  t.equal(purged, 2, 'no tick after close')
})

t.test('two stores on one file: one-time and replay stay atomic across connections', async t => {
  const clock = fixedClock()
  const path = freshPath()
  const stores = [new SqliteStore({ path, now: clock.now }), new SqliteStore({ path, now: clock.now })]
  t.teardown(async () => { for (const s of stores) await s.close() })
  await stores[0]!.putOnce('authn', '_r', 'v', 60_000)
  const takes = await Promise.all(Array.from({ length: 20 }, async (_, i) => await stores[i % 2]!.takeOnce('authn', '_r')))
  t.same(takes.filter(v => v !== null), ['v'])
  const marks = await Promise.all(Array.from({ length: 20 }, async (_, i) => await stores[i % 2]!.markAssertionUsed('_a', clock.now() + 60_000)))
  t.equal(marks.filter(Boolean).length, 1)
})

t.test('a TTL that is not a positive number is refused', async t => {
  const store = new SqliteStore({ path: freshPath() })
  t.teardown(() => store.close())
  await t.rejects(store.setSession('s', { cookie: {} }, -5), RangeError)
  await t.rejects(store.putOnce('authn', '_r', 'v', Number.POSITIVE_INFINITY), RangeError)
})
