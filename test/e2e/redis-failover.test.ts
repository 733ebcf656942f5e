// Redis Sentinel failover under a stream of logins, with real processes: a primary, two replicas,
// three sentinels; two gateways. The primary is killed mid-stream. While the sentinels elect a new
// one, logins answer 503 STORE_UNAVAILABLE — nothing else, and none hangs — and then resume by
// themselves; a session made before is still live, and an assertion accepted before is still a
// replay after: the replay cache and one-time IDs were acknowledged by a replica (WAIT) first.
import t, { type Test } from 'tap'
import { performance } from 'node:perf_hooks'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startSentinels, SENTINEL_NAME, DOWN_AFTER_MS } from '../helpers/redis-sentinel.js'
import { startUpstream } from '../helpers/upstream.js'
import { buildResponse } from '../helpers/idp.js'
import { authnRequestOf, loginThroughIdp, newBrowser, send } from '../helpers/login.js'
import { RedisStore } from '../../src/session/store-redis.js'

t.setTimeout(300_000)
const redis = await startSentinels({ replicas: 2 })
t.teardown(() => redis.stop())
const target = { sentinels: redis.sentinels, sentinelName: SENTINEL_NAME }
const ISSUER = 'https://motion.example.com/api/auth/saml'
const json = { accept: 'application/json' }

/** A gateway configured as an operator would: GATEWAY_REDIS_SENTINELS and the primary's name. */
async function gateway (t: Test, replicasToAck?: number): Promise<TestApp> {
  const upstream = await startUpstream({ issuer: ISSUER, jwks: () => ({ keys: [] }) })
  t.teardown(() => upstream.close())
  const env = {
    GATEWAY_SESSION_STORE: 'redis',
    GATEWAY_REDIS_SENTINELS: redis.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    GATEWAY_REDIS_SENTINEL_NAME: SENTINEL_NAME,
    GATEWAY_UPSTREAM_LOGIN_URL: upstream.url,
    GATEWAY_RATE_LIMIT: '0',
    GATEWAY_VALIDATION_WORKERS: '0'
  }
  // The measurement of WAIT's cost compares with a store that does not wait.
  const deps = replicasToAck === undefined ? {} : { store: new RedisStore(target, { replicasToAck }) }
  return await buildTestApp(t, { env, deps })
}

interface Attempt { at: number, ms: number[], status: number, error?: string }

/** One login; each request timed. */
async function timedLogin (app: TestApp): Promise<Attempt> {
  const at = performance.now()
  const browser = newBrowser()
  const ms: number[] = []
  let t0 = performance.now()
  const start = await send(app.app, browser, { url: '/api/auth/saml', headers: json })
  ms.push(performance.now() - t0)
  if (start.statusCode !== 302) return { at, ms, status: start.statusCode, error: start.json().error ?? start.body }
  t0 = performance.now()
  const acs = await send(app.app, browser, { url: '/api/auth/saml/callback', form: { SAMLResponse: buildResponse({ inResponseTo: authnRequestOf(start.headers.location as string).id }) }, headers: json })
  ms.push(performance.now() - t0)
  return { at, ms, status: acs.statusCode, error: acs.statusCode === 302 ? undefined : acs.json().error ?? acs.body }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

t.test('the cost of WAIT 1 per login and per replay-cache write', async (t) => {
  const withWait = await gateway(t, 1)
  const without = await gateway(t, 0)
  const logins: Record<string, number[]> = { with: [], without: [] }
  for (let i = 0; i < 30; i++) {
    for (const [name, app] of [['with', withWait], ['without', without]] as const) {
      const attempt = await timedLogin(app)
      t.equal(attempt.status, 302)
      logins[name].push(attempt.ms[0] + attempt.ms[1])
    }
  }
  const writes: Record<string, number[]> = { with: [], without: [] }
  const stores = { with: new RedisStore(target, { replicasToAck: 1, prefix: 'bench:' }), without: new RedisStore(target, { replicasToAck: 0, prefix: 'bench:' }) }
  t.teardown(() => Promise.all(Object.values(stores).map((s) => s.close())))
  for (let i = 0; i < 200; i++) {
    for (const name of ['with', 'without'] as const) {
      const t0 = performance.now()
      await stores[name].markAssertionUsed(`_wait-${name}-${i}`, Date.now() + 60_000)
      writes[name].push(performance.now() - t0)
    }
  }
  t.comment(`login (GET + POST) median: ${median(logins.with).toFixed(2)} ms with WAIT 1, ${median(logins.without).toFixed(2)} ms without (n=30 each)`)
  t.comment(`replay-cache write median: ${median(writes.with).toFixed(3)} ms with WAIT 1, ${median(writes.without).toFixed(3)} ms without (n=200 each)`)
})

t.test('no replica acknowledges: 503 STORE_UNAVAILABLE, never an unreplicated acceptance', async (t) => {
  // Five replicas asked for, two exist: WAIT times out (500 ms) with too few acknowledgements.
  const app = await gateway(t, 5)
  const started = performance.now()
  const attempt = await timedLogin(app)
  t.equal(attempt.status, 503)
  t.equal(attempt.error, 'STORE_UNAVAILABLE')
  t.ok(performance.now() - started < 2000 + 1000, 'answered within the bound')
})

t.test('kill the primary during a stream of logins', async (t) => {
  const a = await gateway(t)
  const b = await gateway(t)
  const before = newBrowser()
  const { acs, samlResponse } = await loginThroughIdp(a.app, before)
  t.equal(acs.statusCode, 302, 'a session made before the failover')

  const attempts: Attempt[] = []
  const stream$ = { on: true }
  let killedAt = Infinity
  let newPrimaryAt = Infinity
  const stream = Promise.all([a, b].map(async (app) => {
    while (stream$.on) {
      attempts.push(await timedLogin(app))
      // inject never touches the network: without this, a stream of fast 503s would starve the
      // event loop, and with it the reconnection it waits for.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }))
  const okAfter = (at: number) => attempts.filter((x) => x.at > at && x.status === 302).length
  const until = async (cond: () => boolean, withinMs: number) => {
    const deadline = performance.now() + withinMs
    while (!cond() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await until(() => attempts.length >= 20, 60_000)
  const oldPort = await redis.primaryPort()
  killedAt = performance.now()
  await redis.killPrimary()
  const newPort = await redis.waitForNewPrimary(oldPort)
  newPrimaryAt = performance.now()
  t.not(newPort, oldPort, 'the sentinels elected a new primary')
  await until(() => okAfter(newPrimaryAt) >= 20, 60_000)
  stream$.on = false
  await stream

  const during = attempts.filter((x) => x.at >= killedAt)
  const failed = during.filter((x) => x.status !== 302)
  const firstFail = failed[0]?.at ?? killedAt
  const lastFail = failed.at(-1)?.at ?? killedAt
  const slowest = Math.max(...attempts.flatMap((x) => x.ms))
  t.same([...new Set(failed.map((x) => `${x.status} ${x.error}`))], failed.length > 0 ? ['503 STORE_UNAVAILABLE'] : [], 'only 503 STORE_UNAVAILABLE while it fails over')
  t.ok(slowest < 2000 + 500 + 1000, `no request hung: the slowest took ${slowest.toFixed(0)} ms (command timeout 2 s + WAIT 0.5 s)`)
  t.ok(okAfter(newPrimaryAt) >= 20, 'logins resumed without a restart')
  t.equal(attempts.at(-1)?.status, 302)
  t.equal((await send(a.app, before, { url: '/api/auth/saml/session', headers: json })).statusCode, 200, 'the session made before is live on A')
  t.equal((await send(b.app, before, { url: '/api/auth/saml/session', headers: json })).statusCode, 200, 'and on B')
  const replay = await send(b.app, newBrowser(), { url: '/api/auth/saml/callback', form: { SAMLResponse: samlResponse }, headers: json })
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'SAML_REPLAY', 'the assertion accepted before the failover is a replay after it')
  t.comment(`failover: down-after ${DOWN_AFTER_MS} ms; new primary named ${(newPrimaryAt - killedAt).toFixed(0)} ms after the kill; ` +
    `logins failing from +${(firstFail - killedAt).toFixed(0)} ms to +${(lastFail - killedAt).toFixed(0)} ms; ` +
    `${failed.length} of ${during.length} logins after the kill answered 503; slowest request ${slowest.toFixed(0)} ms`)
})
