// Full logins over real HTTP against the gateway in its own process (server.ts): AuthnRequest
// (GET /api/auth/saml), the IdP's answer signed beforehand, POST to the ACS with the binding
// cookie, handoff to a stub upstream; then repeat logins (session hit) beside a bare Fastify route.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import { Pool } from 'undici'
import { IDP_CERT, TEST_SP_ENTITY_ID, TEST_TENANT } from './fixture-idp.js'
import { startRedis, type TestRedis } from './redis-server.js'
import { signResponses } from './responses.js'
import type { ServerStats } from './server.js'
import type { UpstreamCounts } from './upstream-worker.js'
import { probe, runConcurrent, runFor, sleep, startServer, startStubUpstream, type Lanes, type ServerHandle, type StubUpstream } from './harness.js'
import { redisBytes, sqliteBytes } from './store-bytes.js'
import { median as med, summarize, type Summary } from './stats.js'

const BASE = '/api/auth/saml'
const VIA_TLS = { 'x-forwarded-proto': 'https' }

const setCookies = (headers: Record<string, string | string[] | undefined>): string[] => {
  const raw = headers['set-cookie']
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
}
const cookiePair = (lines: string[], name: string): string | undefined =>
  lines.map((line) => line.split(';')[0]).find((pair) => pair.startsWith(`${name}=`))

interface PendingLogin { binding: string, requestId: string }

export interface StormOptions {
  /** memory: for attribution only (no store I/O on the event loop); not a production store. */
  store: 'sqlite' | 'redis' | 'memory'
  logins: number
  /** Logins per chunk: AuthnRequests, then signing (untimed), then ACS posts. */
  chunk: number
  concurrency: number
  workers: number
  logLevel: string
  /** Request /health during the ACS phases, one at a time, this often (ms). */
  probeIntervalMs: number
  /** The stub upstream verifies one identity header in this many. */
  verifyEvery: number
  /** A directory: CPU profiles of the gateway's event loop in each measured window go there. */
  profileDir?: string
  log: (line: string) => void
}

export interface StormFigures {
  store: string
  workers: number
  logins: number
  concurrency: number
  /** Whole logins per second: both requests of each login, over the time of the timed phases. */
  loginsPerSec: number
  authnRequest: Summary & { perSec: number }
  acs: Summary & { perSec: number }
  errors: number
  firstError?: string
  /** Handoffs the stub upstream saw, how many identities it verified (a sample), and failures. */
  upstream: UpstreamCounts
  health: { idle: Summary, storm: Summary, errors: number }
  serverLoopDelayMs: { p50: number, p99: number, max: number }
  /** How busy the gateway's event loop was during the ACS phases, 0..1. */
  serverLoopUtilization: number
  /** CPU of the gateway's event-loop thread per login in the ACS phases (the ACS request), ms. */
  loopCpuMsPerLogin: number
  /** Mean of the pool's queue length, sampled during the ACS phases (> 0: the ACS was saturated). */
  meanQueued?: number
  rssMb: { before: number, afterFirstChunk: number, afterFirstChunkLogins: number, peakDuring: number, after: number, growthPct: number }
  bytesPerSession?: Record<string, number>
}

export interface StormRun {
  figures: StormFigures
  server: ServerHandle
  sessions: string[]
  upstream: StubUpstream
  cleanup: () => Promise<void>
}

/** A login storm of `logins` distinct users against a fresh gateway and store. */
export async function loginStorm (opts: StormOptions): Promise<StormRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'saml-gateway-bench-'))
  let redis: TestRedis | undefined
  if (opts.store === 'redis') redis = await startRedis()
  const upstream = await startStubUpstream(`https://motion.example.com${BASE}`, opts.verifyEvery)
  const env: Record<string, string> = {
    DOMAIN: 'motion.example.com',
    XC_SAML_ENTRYPOINT: `https://login.microsoftonline.com/${TEST_TENANT}/saml2`,
    XC_SAML_CERT: IDP_CERT,
    XC_SAML_ISSUER: TEST_SP_ENTITY_ID,
    XC_SAML_LOGOUT_URL: `https://login.microsoftonline.com/${TEST_TENANT}/saml2`,
    GATEWAY_UPSTREAM_LOGIN_URL: upstream.url,
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_SESSION_STORE: opts.store,
    GATEWAY_LOG_LEVEL: opts.logLevel,
    GATEWAY_VALIDATION_WORKERS: String(opts.workers),
    // A whole contact centre signs in from one address here: the per-address abuse limit is off.
    GATEWAY_RATE_LIMIT: '0',
    ...(redis !== undefined ? { GATEWAY_REDIS_URL: redis.url } : {})
  }
  const server = await startServer(env, dataDir, opts.profileDir)
  const http = new Pool(server.gatewayUrl, { connections: opts.concurrency })
  await upstream.setJwks(await (await http.request({ path: `${BASE}/jwks.json`, method: 'GET' })).body.json() as { keys: unknown[] })
  const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024 * 10) / 10

  const cleanup = async (): Promise<void> => {
    await http.close()
    await server.close()
    await upstream.close()
    await redis?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }

  try {
    const idle = await probe(`${server.gatewayUrl}${BASE}/health`, opts.probeIntervalMs, async () => await sleep(2000))
    const before = await server.call<ServerStats>({ cmd: 'stats', gc: true })
    opts.log(`  ${opts.store}, ${opts.workers} validation worker(s): RSS before ${mb(before.rss)} MB; /health idle p99 ${summarize(idle.latencies).p99.toFixed(2)} ms`)

    const sessions: string[] = []
    const getLat: number[] = []
    const postLat: number[] = []
    const healthLat: number[] = []
    let healthErrors = idle.errors
    let getMs = 0
    let postMs = 0
    let errors = 0
    let firstError: string | undefined
    let afterFirst: ServerStats | undefined
    let afterFirstLogins = 0
    let peak = before.rss
    const queued: number[] = []
    await server.call({ cmd: 'measure-reset' })

    for (let offset = 0; offset < opts.logins; offset += opts.chunk) {
      const n = Math.min(opts.chunk, opts.logins - offset)
      // 1. AuthnRequests: the redirect to the IdP and the binding cookie, as a browser gets them.
      const pending: PendingLogin[] = new Array(n)
      const gets = await runConcurrent(n, opts.concurrency, async (i) => {
        const res = await http.request({ path: `${BASE}?returnTo=%2Fagent`, method: 'GET', headers: VIA_TLS })
        await res.body.dump()
        if (res.statusCode !== 302) throw new Error(`AuthnRequest: ${res.statusCode}`)
        const samlRequest = new URL(res.headers.location as string).searchParams.get('SAMLRequest') as string
        const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8')
        const binding = cookiePair(setCookies(res.headers), '__Host-saml_gateway_request')
        if (binding === undefined) throw new Error('AuthnRequest: no binding cookie')
        pending[i] = { binding, requestId: /\sID="([^"]+)"/.exec(xml)?.[1] as string }
      })
      getMs += gets.ms
      for (const x of gets.latencies) getLat.push(x)
      errors += gets.errors
      firstError ??= gets.firstError

      // 2. The IdP's answers, signed now (untimed; the gateway is idle meanwhile).
      const now = Date.now()
      const responses = await signResponses(pending.map((p, i) => ({
        nameId: `agent${offset + i}@contoso.com`, inResponseTo: p?.requestId ?? '_failed', now, validForMs: 5 * 60_000
      })))

      // 3. The storm on the ACS, with /health requested meanwhile and the server sampled.
      const sampling = new AbortController()
      const sampler = (async () => {
        while (!sampling.signal.aborted) {
          const s = await server.call<ServerStats>({ cmd: 'stats' })
          peak = Math.max(peak, s.rss)
          if (s.pool !== undefined) queued.push(s.pool.queued)
          await sleep(250)
        }
      })()
      let posts: Lanes | undefined
      await server.call({ cmd: 'measure-start' })
      const health = await probe(`${server.gatewayUrl}${BASE}/health`, opts.probeIntervalMs, async () => {
        posts = await runConcurrent(n, opts.concurrency, async (i) => {
          if (pending[i] === undefined) throw new Error('no AuthnRequest')
          const res = await http.request({
            path: `${BASE}/callback`,
            method: 'POST',
            headers: { ...VIA_TLS, 'content-type': 'application/x-www-form-urlencoded', cookie: pending[i].binding },
            body: `SAMLResponse=${encodeURIComponent(responses[i])}`
          })
          const body = await res.body.text()
          if (res.statusCode !== 302) throw new Error(`ACS: ${res.statusCode} ${body.slice(0, 200)}`)
          const session = cookiePair(setCookies(res.headers), '__Host-saml_gateway_session')
          if (session === undefined) throw new Error('ACS: no session cookie')
          sessions.push(session)
        })
      })
      await server.call({ cmd: 'measure-stop' })
      sampling.abort()
      await sampler
      const p = posts as Lanes
      postMs += p.ms
      for (const x of p.latencies) postLat.push(x)
      errors += p.errors
      firstError ??= p.firstError
      for (const x of health.latencies) healthLat.push(x)
      healthErrors += health.errors
      if (afterFirst === undefined) {
        afterFirst = await server.call<ServerStats>({ cmd: 'stats', gc: true })
        afterFirstLogins = offset + n
      }
      opts.log(`  ${offset + n} logins: ${Math.round(n / ((gets.ms + p.ms) / 1000))} logins/s in this chunk, ` +
        `/health p99 ${summarize(health.latencies).p99.toFixed(2)} ms, errors ${errors}`)
    }
    const end = await server.call<ServerStats>({ cmd: 'stats' })
    const loop = end.loopDelay
    await sleep(1000)
    const after = await server.call<ServerStats>({ cmd: 'stats', gc: true })
    const first = afterFirst as ServerStats
    const figures: StormFigures = {
      store: opts.store,
      workers: opts.workers,
      logins: opts.logins,
      concurrency: opts.concurrency,
      loginsPerSec: opts.logins / ((getMs + postMs) / 1000),
      authnRequest: { ...summarize(getLat), perSec: opts.logins / (getMs / 1000) },
      acs: { ...summarize(postLat), perSec: opts.logins / (postMs / 1000) },
      errors,
      firstError,
      upstream: await upstream.counts(),
      health: { idle: summarize(idle.latencies), storm: summarize(healthLat), errors: healthErrors },
      serverLoopDelayMs: loop,
      serverLoopUtilization: Math.round(end.loopUtilization * 1000) / 1000,
      loopCpuMsPerLogin: Math.round(end.loopCpuMs / opts.logins * 100) / 100,
      meanQueued: queued.length === 0 ? undefined : queued.reduce((a, b) => a + b, 0) / queued.length,
      rssMb: {
        before: mb(before.rss),
        afterFirstChunk: mb(first.rss),
        afterFirstChunkLogins: afterFirstLogins,
        peakDuring: mb(peak),
        after: mb(after.rss),
        growthPct: Math.round((after.rss / first.rss - 1) * 1000) / 10
      },
      bytesPerSession: opts.store === 'sqlite'
        ? sqliteBytes(join(dataDir, 'sessions.sqlite'))
        : opts.store === 'redis' ? await redisBytes(redis!.url) : undefined
    }
    return { figures, server, sessions, upstream, cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}

export interface RepeatFigures {
  seconds: number
  concurrency: number
  repeatLoginPerSec: number
  bareRoutePerSec: number
  ratio: number
  /** How busy the gateway's event loop was during the repeat logins (1: it is the bottleneck). */
  gatewayLoopUtilization: number
  /** CPU of the gateway's event-loop thread per repeat login, ms. */
  gatewayLoopCpuMsPerRequest: number
  repeat: Summary
  bare: Summary
  errors: number
  /** The stub's counts so far (the storm's handoffs included). */
  upstream: UpstreamCounts
  firstError?: string
}

/** Repeat logins (session hit → handoff) beside a bare Fastify route, `seconds` each, interleaved, medians of `rounds`. */
export async function repeatVersusBare (run: StormRun, seconds: number, concurrency: number, rounds: number): Promise<RepeatFigures> {
  const gateway = new Pool(run.server.gatewayUrl, { connections: concurrency })
  const bare = new Pool(run.server.bareUrl, { connections: concurrency })
  const repeatRates: number[] = []
  const bareRates: number[] = []
  const repeatLat: number[] = []
  const bareLat: number[] = []
  const loopUtilization: number[] = []
  const loopCpuPerRequest: number[] = []
  let errors = 0
  let firstError: string | undefined
  try {
    for (let r = 0; r < rounds; r++) {
      const b = await runFor(seconds, concurrency, async () => {
        const res = await bare.request({ path: '/', method: 'GET' })
        await res.body.dump()
        if (res.statusCode !== 200) throw new Error(`bare: ${res.statusCode}`)
      })
      await run.server.call({ cmd: 'measure-reset' })
      await run.server.call({ cmd: 'measure-start' })
      const g = await runFor(seconds, concurrency, async (i) => {
        const res = await gateway.request({
          path: `${BASE}?returnTo=%2Fagent`,
          method: 'GET',
          headers: { ...VIA_TLS, cookie: run.sessions[i % run.sessions.length] }
        })
        await res.body.dump()
        if (res.statusCode !== 302 || res.headers.location !== '/welcome') throw new Error(`repeat login: ${res.statusCode} ${String(res.headers.location)}`)
      })
      await run.server.call({ cmd: 'measure-stop' })
      const st = await run.server.call<ServerStats>({ cmd: 'stats' })
      loopUtilization.push(st.loopUtilization)
      loopCpuPerRequest.push(st.loopCpuMs / g.count)
      bareRates.push(b.count / (b.ms / 1000))
      repeatRates.push(g.count / (g.ms / 1000))
      for (const x of b.latencies) bareLat.push(x)
      for (const x of g.latencies) repeatLat.push(x)
      errors += b.errors + g.errors
      firstError ??= b.firstError ?? g.firstError
    }
  } finally {
    await gateway.close()
    await bare.close()
  }
  return {
    seconds,
    concurrency,
    repeatLoginPerSec: med(repeatRates),
    bareRoutePerSec: med(bareRates),
    ratio: med(repeatRates) / med(bareRates),
    gatewayLoopUtilization: Math.round(med(loopUtilization) * 1000) / 1000,
    gatewayLoopCpuMsPerRequest: Math.round(med(loopCpuPerRequest) * 1000) / 1000,
    repeat: summarize(repeatLat),
    bare: summarize(bareLat),
    errors,
    upstream: await run.upstream.counts(),
    firstError
  }
}
