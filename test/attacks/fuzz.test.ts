// Property-based fuzzing of the routes anyone can reach: the ACS, the SLO endpoint (both bindings)
// and the login start (inputs: _fuzz-inputs.ts). Whatever comes in: never a 5xx, never an unhandled
// rejection or uncaught exception, still healthy, and memory back within bounds afterwards.
//
//   FUZZ_RUNS=10000 (default) · FUZZ_SEED=<n> replays a run · FUZZ_REPORT=<file> writes the figures as JSON
import fs from 'node:fs'
import v8 from 'node:v8'
import vm from 'node:vm'
import fc from 'fast-check'
import t from 'tap'
import { harness } from './_harness.js'
import { ENDPOINTS, fuzzInputs, warmUp } from './_fuzz-inputs.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
// Tell the runner: a full run takes about a minute alone, two beside other test files.
t.setTimeout(Math.max(120_000, RUNS * 40))

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const MB = 1024 * 1024

/** Counts per key, and the total time spent per key. */
class Tally {
  readonly counts = new Map<string, number>()
  readonly ms = new Map<string, number>()
  add (key: string, ms = 0): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    this.ms.set(key, (this.ms.get(key) ?? 0) + ms)
  }

  sorted (): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([, a], [, b]) => b - a))
  }
}

t.test(`fuzz: ${RUNS} inputs at /callback, /logout/callback (both bindings) and /`, async (t) => {
  const h = await harness(t)
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtExceptionMonitor', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled); process.off('uncaughtExceptionMonitor', onUnhandled) })

  // Warm up (schemas, workers, JIT), then the baseline.
  for (const value of warmUp) {
    await h.app.inject({ method: 'POST', url: ENDPOINTS.acs, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ SAMLResponse: value }).toString() })
  }
  gc()
  const before = process.memoryUsage()
  let peakRss = before.rss
  let tried = 0
  const statuses = new Tally()
  const codes = new Tally()
  const kinds = new Tally()
  const started = Date.now()

  await fc.assert(fc.asyncProperty(fuzzInputs, fc.constantFrom('application/json', 'text/html', undefined), async (input, accept) => {
    const headers = { 'x-forwarded-proto': 'https', ...(accept === undefined ? {} : { accept }), ...input.headers }
    const t0 = performance.now()
    const res = await h.app.inject({ method: input.method, url: input.url, headers, payload: input.payload })
    kinds.add(input.kind, performance.now() - t0)
    statuses.add(String(res.statusCode))
    const code = /"error":"([A-Z_]+)"|<code>([A-Z_]+)<\/code>/.exec(res.body.slice(0, 4096))
    if (code !== null) codes.add(code[1] ?? code[2])
    if (++tried % 50 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss())
    return res.statusCode < 500
  }), { numRuns: RUNS, seed: SEED, endOnFailure: true })

  const seconds = (Date.now() - started) / 1000
  t.same(unhandled, [], 'no unhandled rejection, no uncaught exception')
  t.equal((await h.app.inject({ method: 'GET', url: '/api/auth/saml/health' })).statusCode, 200, 'still healthy afterwards')
  gc()
  const after = process.memoryUsage()
  peakRss = Math.max(peakRss, after.rss)
  const mb = (n: number) => Math.round(n / MB)
  t.ok(after.heapUsed - before.heapUsed < 64 * MB, `heap after GC within 64 MB of before (${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB)`)
  t.ok(peakRss < 1536 * MB, `peak RSS under 1.5 GB (${mb(peakRss)} MB)`)
  t.ok(tried >= RUNS, `${tried} inputs tried`)

  const figures = {
    inputs: tried,
    seconds,
    statuses: statuses.sorted(),
    codes: codes.sorted(),
    kinds: kinds.sorted(),
    injectSecondsByKind: Object.fromEntries([...kinds.ms].map(([k, v]) => [k, Math.round(v) / 1000])),
    rssMb: { before: mb(before.rss), peak: mb(peakRss), after: mb(after.rss) },
    heapUsedMb: { before: mb(before.heapUsed), after: mb(after.heapUsed) }
  }
  t.comment(`fuzz figures: ${JSON.stringify(figures)}`)
  if (process.env.FUZZ_REPORT !== undefined) fs.writeFileSync(process.env.FUZZ_REPORT, JSON.stringify(figures, null, 2))
})
