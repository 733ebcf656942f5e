import t from 'tap'
import { MemoryStore } from '../../src/session/store-memory.js'
import { fixedClock, storeContract } from './_store-contract.js'

storeContract(t, { open: async clock => new MemoryStore({ now: clock.now }) })

t.test('purgeExpired drops what has expired and nothing else', async t => {
  const clock = fixedClock()
  const store = new MemoryStore({ now: clock.now })
  t.teardown(() => store.close())
  await store.setSession('short', { cookie: {}, user: { nameId: 'n', issuer: 'i', claims: {}, authTime: 0 } }, 1000)
  await store.setSession('long', { cookie: {} }, 10_000)
  await store.putOnce('authn', 'r', 'v', 1000)
  await store.markAssertionUsed('a', clock.now() + 1000)
  t.equal(store.purgeExpired(), 0)
  clock.advance(1000)
  t.equal(store.purgeExpired(), 3)
  t.ok(await store.getSession('long'))
})

t.test('a TTL that is not a positive number is refused', async t => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  await t.rejects(store.setSession('s', { cookie: {} }, 0), RangeError)
  await t.rejects(store.putOnce('authn', 'r', 'v', Number.NaN), RangeError)
})
