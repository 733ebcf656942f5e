// What every GatewayStore backend must do, run by store-memory/-sqlite/-redis.test.ts. Time is a
// fixed clock that tests advance; backends on real time (Redis) instead show the TTL they set.
import type { Test } from 'tap'
import type { GatewayStore, OneTimeKind, SessionData } from '../../src/session/store.js'

export interface Clock {
  now: () => number
  advance (ms: number): void
}

export function fixedClock (start = Date.UTC(2025, 0, 15, 9, 0, 0)): Clock {
  let now = start
  return { now: () => now, advance: ms => { now += ms } }
}

export type StoredRecord =
  | { session: string }
  | { once: [OneTimeKind, string] }
  | { replay: string }

export interface StoreHarness {
  /** A fresh, empty store reading this clock. The contract closes it. */
  open (clock: Clock): Promise<GatewayStore>
  /**
   * Absent when expiry follows the injected clock (memory, SQLite). Backends on real time
   * (Redis) give the remaining TTL in ms of the record instead.
   */
  remainingTtl?: (store: GatewayStore, record: StoredRecord) => Promise<number>
}

const MINUTE = 60_000

function session (user?: { nameId: string, sessionIndex?: string }, extra: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: '2025-01-15T10:00:00.000Z', path: '/', httpOnly: true },
    ...(user === undefined
      ? {}
      : { user: { ...user, issuer: 'https://idp.example/', claims: { email: user.nameId }, authTime: 1 } }),
    ...extra
  }
}

export function storeContract (t: Test, harness: StoreHarness): void {
  const withStore = (name: string, fn: (t: Test, store: GatewayStore, clock: Clock) => Promise<void>): void => {
    t.test(name, async t => {
      const clock = fixedClock()
      const store = await harness.open(clock)
      t.teardown(() => store.close())
      await fn(t, store, clock)
    })
  }
  const byClock = harness.remainingTtl === undefined
  /** Within a second below what was asked: real time moved on a little since the write. */
  const assertTtl = async (t: Test, store: GatewayStore, record: StoredRecord, askedMs: number): Promise<void> => {
    const ttl = await harness.remainingTtl!(store, record)
    t.ok(ttl <= askedMs && ttl > askedMs - 1000, `TTL ${ttl} ms is the ${askedMs} ms asked`)
  }

  withStore('get, set, replace, destroy', async (t, store) => {
    t.equal(await store.getSession('s1'), null, 'absent → null')
    const first = session({ nameId: 'alice@example.com' }, { csrf: 'token-1' })
    await store.setSession('s1', first, 10 * MINUTE)
    t.same(await store.getSession('s1'), first, 'what was set comes back')
    const second = session({ nameId: 'alice@example.com' }, { csrf: 'token-2' })
    await store.setSession('s1', second, 10 * MINUTE)
    t.same(await store.getSession('s1'), second, 'set replaces')
    await store.destroySession('s1')
    t.equal(await store.getSession('s1'), null, 'destroyed → null')
    await t.resolves(store.destroySession('s1'), 'destroying again is no error')
    await t.resolves(store.destroySession('never-was'), 'destroying an unknown id is no error')
  })

  withStore('sessions expire', async (t, store, clock) => {
    await store.setSession('s1', session({ nameId: 'alice' }), 10 * MINUTE)
    if (!byClock) return await assertTtl(t, store, { session: 's1' }, 10 * MINUTE)
    clock.advance(10 * MINUTE - 1)
    t.ok(await store.getSession('s1'), 'alive until the last millisecond')
    clock.advance(1)
    t.equal(await store.getSession('s1'), null, 'gone at its expiry')
    t.same(await store.sessionsOfNameId('alice'), [], 'and gone from the index')
  })

  withStore('NameID and SessionIndex index', async (t, store, clock) => {
    const alice = 'urn:oid:alice:with:colons@example.com'
    await store.setSession('a1', session({ nameId: alice, sessionIndex: '_idx-1' }), 10 * MINUTE)
    await store.setSession('a2', session({ nameId: alice }), 10 * MINUTE)
    await store.setSession('a3', session({ nameId: alice }), 20 * MINUTE)
    await store.setSession('b1', session({ nameId: 'bob', sessionIndex: '_idx-1' }), 10 * MINUTE)
    await store.setSession('anon', session(), 10 * MINUTE)

    t.same((await store.sessionsOfNameId(alice)).sort(), ['a1', 'a2', 'a3'], 'every session of the NameID')
    t.same(await store.sessionsOfSessionIndex(alice, '_idx-1'), ['a1'], 'only the one with that SessionIndex')
    t.same(await store.sessionsOfSessionIndex('bob', '_idx-1'), ['b1'], 'the same SessionIndex of another NameID is separate')
    t.same(await store.sessionsOfSessionIndex(alice, '_idx-2'), [], 'unknown SessionIndex → none')
    t.same(await store.sessionsOfNameId('nobody'), [], 'unknown NameID → none')

    await store.destroySession('a1')
    t.same((await store.sessionsOfNameId(alice)).sort(), ['a2', 'a3'], 'destroy removes it from the NameID index')
    t.same(await store.sessionsOfSessionIndex(alice, '_idx-1'), [], 'and from the SessionIndex index')

    await store.setSession('a2', session(undefined, { csrf: 'x' }), 10 * MINUTE)
    await store.setSession('b1', session({ nameId: alice, sessionIndex: '_idx-9' }), 10 * MINUTE)
    t.same((await store.sessionsOfNameId(alice)).sort(), ['a3', 'b1'], 'set keeps the index in step with the user')
    t.same(await store.sessionsOfNameId('bob'), [], 'a session that changed hands leaves its old NameID')
    t.same(await store.sessionsOfSessionIndex('bob', '_idx-1'), [], 'and its old SessionIndex')
    t.same(await store.sessionsOfSessionIndex(alice, '_idx-9'), ['b1'], 'and joins the new one')

    if (!byClock) return
    clock.advance(10 * MINUTE)
    t.same(await store.sessionsOfNameId(alice), ['a3'], 'expired sessions leave the index')
  })

  withStore('putOnce / takeOnce', async (t, store, clock) => {
    await store.putOnce('authn', '_req1', '{"returnTo":"/a"}', 5 * MINUTE)
    await store.putOnce('logout', '_req1', 'logout-value', 5 * MINUTE)
    t.equal(await store.takeOnce('authn', '_req1'), '{"returnTo":"/a"}', 'the first take gets the value')
    t.equal(await store.takeOnce('authn', '_req1'), null, 'the second take gets null')
    t.equal(await store.takeOnce('logout', '_req1'), 'logout-value', 'kinds do not share ids')
    t.equal(await store.takeOnce('authn', '_never'), null, 'unknown id → null')

    await store.putOnce('authn', '_req2', 'v2', 5 * MINUTE)
    if (!byClock) return await assertTtl(t, store, { once: ['authn', '_req2'] }, 5 * MINUTE)
    clock.advance(5 * MINUTE)
    t.equal(await store.takeOnce('authn', '_req2'), null, 'expired → null')
  })

  withStore('putOnceBounded keeps at most max live entries of its kind, the oldest go first', async (t, store, clock) => {
    for (const id of ['_a', '_b', '_c']) t.equal(await store.putOnceBounded('authn', id, `v${id}`, 5 * MINUTE, 3), 0, `${id}: room left`)
    await store.putOnce('logout', '_l', 'logout-value', 5 * MINUTE)
    t.equal(await store.putOnceBounded('authn', '_d', 'v_d', 5 * MINUTE, 3), 1, 'full: one evicted')
    t.equal(await store.takeOnce('authn', '_a'), null, 'the oldest went')
    t.equal(await store.takeOnce('authn', '_b'), 'v_b', 'the others stay')
    t.equal(await store.putOnceBounded('authn', '_e', 'v_e', 5 * MINUTE, 3), 0, 'a taken entry frees its place')
    t.equal(await store.putOnceBounded('authn', '_e', 'v_e2', 5 * MINUTE, 3), 0, 'putting an id again takes no second place')
    t.equal(await store.takeOnce('authn', '_e'), 'v_e2', 'and replaces its value')
    t.equal(await store.takeOnce('logout', '_l'), 'logout-value', 'other kinds are not counted nor evicted')
    t.equal(await store.putOnceBounded('authn', '_f', 'v_f', 5 * MINUTE, 1), 2, 'a smaller bound evicts down to it')
    t.equal(await store.takeOnce('authn', '_c'), null)
    t.equal(await store.takeOnce('authn', '_d'), null)
    t.equal(await store.takeOnce('authn', '_f'), 'v_f')
    await t.rejects(store.putOnceBounded('authn', '_g', 'v', 5 * MINUTE, 0), RangeError, 'a bound below 1 is a bug')
    await store.putOnceBounded('authn', '_h', 'v_h', 5 * MINUTE, 2)
    if (!byClock) return await assertTtl(t, store, { once: ['authn', '_h'] }, 5 * MINUTE)
    clock.advance(5 * MINUTE)
    t.equal(await store.putOnceBounded('authn', '_i', 'v_i', 5 * MINUTE, 1), 0, 'expired entries take no place and are not counted as evicted')
    t.equal(await store.takeOnce('authn', '_i'), 'v_i')
  })

  withStore('100 concurrent putOnceBounded never keep more than the bound', async (t, store) => {
    const evicted = await Promise.all(Array.from({ length: 100 }, async (_, i) => await store.putOnceBounded('authn', `_r${i}`, 'v', 5 * MINUTE, 10)))
    t.equal(evicted.reduce((a, b) => a + b, 0), 90, '90 evicted in all')
    const kept = (await Promise.all(Array.from({ length: 100 }, async (_, i) => await store.takeOnce('authn', `_r${i}`)))).filter((v) => v !== null)
    t.equal(kept.length, 10, '10 kept')
  })

  withStore('markAssertionUsed', async (t, store, clock) => {
    const until = clock.now() + 5 * MINUTE
    t.equal(await store.markAssertionUsed('_a1', until), true, 'first use → true')
    t.equal(await store.markAssertionUsed('_a1', until), false, 'second use → false')
    t.equal(await store.markAssertionUsed('_a1', until + MINUTE), false, 'still false with a later until')
    t.equal(await store.markAssertionUsed('_a2', until), true, 'another assertion → true')
    if (!byClock) return await assertTtl(t, store, { replay: '_a1' }, 5 * MINUTE)
    clock.advance(5 * MINUTE - 1)
    t.equal(await store.markAssertionUsed('_a1', until), false, 'remembered until its until')
    clock.advance(1)
    t.equal(await store.markAssertionUsed('_a1', clock.now() + MINUTE), true, 'forgotten after it')
    t.equal(await store.markAssertionUsed('_a1', clock.now() + MINUTE), false, 'and remembered again')
  })

  withStore('50 concurrent takeOnce of one id → exactly one value', async (t, store) => {
    await store.putOnce('authn', '_race', 'the-value', 5 * MINUTE)
    const results = await Promise.all(Array.from({ length: 50 }, async () => await store.takeOnce('authn', '_race')))
    t.same(results.filter(r => r !== null), ['the-value'])
  })

  withStore('50 concurrent markAssertionUsed → exactly one true', async (t, store, clock) => {
    const until = clock.now() + 5 * MINUTE
    const results = await Promise.all(Array.from({ length: 50 }, async () => await store.markAssertionUsed('_race', until)))
    t.equal(results.filter(r => r).length, 1)
  })

  withStore('listSessions: every live session, or those of one NameID or one email (any case)', async (t, store) => {
    await store.setSession('s-alice-1', session({ nameId: 'alice-id' }, {}), 10 * MINUTE)
    await store.setSession('s-alice-2', session({ nameId: 'alice-id' }, {}), 20 * MINUTE)
    await store.setSession('s-bob', session({ nameId: 'bob@example.com' }), 30 * MINUTE)
    await store.setSession('s-anonymous', session(), 30 * MINUTE)
    const all = await store.listSessions()
    t.same(all.map(s => s.sid).sort(), ['s-alice-1', 's-alice-2', 's-anonymous', 's-bob'])
    t.equal(all.find(s => s.sid === 's-bob')?.user?.nameId, 'bob@example.com', 'with its owner')
    t.same((await store.listSessions({ nameId: 'alice-id' })).map(s => s.sid), ['s-alice-1', 's-alice-2'], 'by NameID, soonest to expire first')
    t.same((await store.listSessions({ email: 'BOB@Example.com' })).map(s => s.sid), ['s-bob'], 'by email, any case')
    t.same(await store.listSessions({ nameId: 'nobody' }), [], 'nobody → none')
    await store.destroySession('s-alice-1')
    t.same((await store.listSessions({ nameId: 'alice-id' })).map(s => s.sid), ['s-alice-2'], 'a destroyed one is gone')
  })

  withStore('shared values: created once, compare-and-set', async (t, store) => {
    t.equal(await store.getShared('secret'), null, 'absent → null')
    t.equal(await store.createShared('secret', 'first'), 'first', 'the first writer stores its value')
    t.equal(await store.createShared('secret', 'second'), 'first', 'a later writer gets the stored one')
    const racers = await Promise.all(Array.from({ length: 20 }, async (_, i) => await store.createShared('raced', `v${i}`)))
    t.equal(new Set(racers).size, 1, '20 concurrent creators all get one value')
    t.equal(await store.replaceShared('secret', 'stale', 'x'), false, 'CAS with a stale value → false')
    t.equal(await store.replaceShared('secret', 'first', 'next'), true, 'CAS with the current value → true')
    t.equal(await store.getShared('secret'), 'next')
    t.equal(await store.replaceShared('fresh', null, 'v'), true, 'CAS on an absent name with null → created')
    t.equal(await store.replaceShared('fresh', null, 'w'), false, 'but only once')
  })

  withStore('ping, then close', async (t, store) => {
    await t.resolves(store.ping(), 'ping answers while open')
    await store.close()
    await t.rejects(store.ping(), 'ping rejects once closed')
    await t.resolves(store.close(), 'closing twice is fine')
  })
}
