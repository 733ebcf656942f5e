// npm run bench: the gateway under a shift-start login storm, in one run, on one machine.
// Prints each figure with its method, a Markdown section for BENCHMARKS.md (appended to it with
// BENCH_APPEND=1) and a JSON summary (also written to BENCH_JSON=<file> when set).
// Counts: BENCH_LOGINS, BENCH_REDIS_LOGINS, BENCH_INLINE_LOGINS, BENCH_RESPONSES, BENCH_VALIDATIONS,
// BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_REPEAT_SECONDS, BENCH_SECTIONS=validation,sqlite,redis,inline (and memory, for attribution;
// parser-flood, alone, for parser bombs: BENCH_FLOOD_SECONDS).
import { execSync } from 'node:child_process'
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { REPO_ROOT } from './fixture-idp.js'
import { signResponses, validationSpecs } from './responses.js'
import { validationBench, type ValidationFigures } from './validation-bench.js'
import { loginStorm, repeatVersusBare, type RepeatFigures, type StormFigures } from './http-bench.js'
import { markdownReport, targetsOf } from './report.js'
import { parserFlood, parserFloodLines } from './parser-flood.js'

const num = (name: string, fallback: number): number => {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number (got ${JSON.stringify(value)})`)
  return n
}

export interface BenchOptions {
  sections: string[]
  responses: number
  validations: number
  rounds: number
  rsa: number
  logins: number
  redisLogins: number
  inlineLogins: number
  chunk: number
  concurrency: number
  repeatSeconds: number
  repeatRounds: number
  probeMs: number
  verifyEvery: number
  workers: number
  logLevel: string
}

const options: BenchOptions = {
  sections: (process.env.BENCH_SECTIONS ?? 'validation,sqlite,redis,inline').split(',').map((s) => s.trim()).filter(Boolean),
  responses: num('BENCH_RESPONSES', 1000),
  validations: num('BENCH_VALIDATIONS', 400),
  rounds: num('BENCH_ROUNDS', 5),
  rsa: num('BENCH_RSA', 20_000),
  logins: num('BENCH_LOGINS', 10_000),
  redisLogins: num('BENCH_REDIS_LOGINS', 2_000),
  inlineLogins: num('BENCH_INLINE_LOGINS', 1_000),
  chunk: num('BENCH_CHUNK', 1_000),
  concurrency: num('BENCH_CONCURRENCY', 32),
  repeatSeconds: num('BENCH_REPEAT_SECONDS', 3),
  repeatRounds: num('BENCH_REPEAT_ROUNDS', 3),
  probeMs: num('BENCH_PROBE_MS', 5),
  verifyEvery: Math.max(1, num('BENCH_VERIFY_EVERY', 10)),
  workers: num('BENCH_WORKERS', availableParallelism()),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info'
}

export interface Machine { date: string, nproc: number, cpu: string, node: string, loadAvg: string, commit: string, command: string }

function machine (): Machine {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : ''
  const set = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')).map(([k, v]) => `${k}=${v} `).join('')
  let commit = 'unknown'
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    if (execSync('git status --porcelain', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '') commit += ' + uncommitted changes'
  } catch {}
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    node: process.version,
    loadAvg: loadavg().map((x) => x.toFixed(2)).join(' '),
    commit,
    command: `${set}npm run bench`
  }
}

const log = (line: string): void => console.log(line)

async function main (): Promise<void> {
  const started = performance.now()
  const m = machine()
  log(`saml-gateway bench, ${m.date}: ${m.nproc} cores (${m.cpu}), node ${m.node}, load average ${m.loadAvg}`)
  log(`options: ${JSON.stringify(options)}`)

  if (options.sections.includes('parser-flood')) {
    log('\n== Parser bombs: CPU to refuse the worst document of each shape (median of 9, this process), /health during a flood')
    const flood = await parserFlood({ seconds: num('BENCH_FLOOD_SECONDS', 10), concurrency: 4, probeIntervalMs: options.probeMs, workers: options.workers, log })
    for (const line of parserFloodLines(flood)) log(line)
    if (options.sections.length === 1) return
  }

  let validation: ValidationFigures | undefined
  if (options.sections.includes('validation')) {
    log('\n== Secure validation alone (same pre-generated responses for every implementation)')
    log(`  ${options.responses} distinct Entra-shaped responses (assertion-only RSA-SHA256, 10 claims), signed by test/helpers/idp.ts;`)
    log(`  each implementation in threads of its own; ${options.rounds} interleaved rounds of ${options.validations} validations, medians`)
    const now = Date.now()
    const responses = await signResponses(validationSpecs(options.responses, now))
    validation = await validationBench({
      responses, nowMs: now + 1000, batch: options.validations, rounds: options.rounds, rsaBatch: options.rsa, log
    })
    for (const [k, v] of Object.entries(validation.perSec)) log(`  ${k.padEnd(28)} ${v.toFixed(1).padStart(9)} /s, ${validation.cpuMsPerOp[k].toFixed(3)} ms of CPU each`)
    for (const [k, v] of Object.entries(validation.ratios)) log(`  ${k.padEnd(44)} ${v.toFixed(2)}×`)
  }

  const storms: StormFigures[] = []
  let repeat: RepeatFigures | undefined
  const profileDir = process.env.BENCH_PROFILE === undefined || process.env.BENCH_PROFILE === '' ? undefined : process.env.BENCH_PROFILE
  const stormOptions = { chunk: options.chunk, concurrency: options.concurrency, logLevel: options.logLevel, probeIntervalMs: options.probeMs, verifyEvery: options.verifyEvery, profileDir, log }
  if (options.sections.includes('sqlite')) {
    log(`\n== Full logins over HTTP, SQLite store: ${options.logins} distinct users, ${options.concurrency} at a time`)
    log(`  per chunk of ${options.chunk}: GET ${'/api/auth/saml'} for each (timed), the IdP's answers signed (untimed, gateway idle),`)
    log('  POST /callback with the binding cookie → handoff to a stub upstream (timed), /health requested meanwhile by a probe thread')
    const run = await loginStorm({ ...stormOptions, store: 'sqlite', logins: options.logins, workers: options.workers })
    try {
      storms.push(run.figures)
      printStorm(run.figures)
      log(`\n== Repeat login (session hit → handoff) beside a bare Fastify route, ${options.repeatSeconds} s each, ${options.concurrency} at a time, ${options.repeatRounds} interleaved rounds`)
      repeat = await repeatVersusBare(run, options.repeatSeconds, options.concurrency, options.repeatRounds)
      log(`  repeat login ${repeat.repeatLoginPerSec.toFixed(0)}/s (p50 ${repeat.repeat.p50} ms, p99 ${repeat.repeat.p99} ms), ` +
        `bare route ${repeat.bareRoutePerSec.toFixed(0)}/s (p50 ${repeat.bare.p50} ms, p99 ${repeat.bare.p99} ms): ${(repeat.ratio * 100).toFixed(0)}%; ` +
        `gateway event loop busy ${(repeat.gatewayLoopUtilization * 100).toFixed(0)}% of the time, ${repeat.gatewayLoopCpuMsPerRequest} ms of its CPU per repeat login; errors ${repeat.errors}, identities refused by the upstream ${repeat.upstream.identityErrors}`)
    } finally {
      await run.cleanup()
    }
  }
  if (options.sections.includes('redis')) {
    log(`\n== Full logins over HTTP, Redis store (own redis-server): ${options.redisLogins} users`)
    const run = await loginStorm({ ...stormOptions, store: 'redis', logins: options.redisLogins, workers: options.workers })
    await run.cleanup()
    storms.push(run.figures)
    printStorm(run.figures)
  }
  if (options.sections.includes('memory')) {
    log(`\n== For attribution: the memory store (no store I/O on the event loop), ${options.inlineLogins} users`)
    const run = await loginStorm({ ...stormOptions, store: 'memory', logins: options.inlineLogins, workers: options.workers })
    await run.cleanup()
    storms.push(run.figures)
    printStorm(run.figures)
  }
  if (options.sections.includes('inline')) {
    log(`\n== For contrast: validation on the event loop (GATEWAY_VALIDATION_WORKERS=0), SQLite, ${options.inlineLogins} users`)
    const run = await loginStorm({ ...stormOptions, store: 'sqlite', logins: options.inlineLogins, workers: 0 })
    await run.cleanup()
    storms.push(run.figures)
    printStorm(run.figures)
  }

  const durationS = Math.round((performance.now() - started) / 1000)
  const summary = { machine: m, options, durationS, validation, storms, repeat, targets: targetsOf(validation, storms, repeat) }
  const markdown = markdownReport(summary)
  log('\n== BENCHMARKS.md section\n')
  log(markdown)
  log(`JSON ${JSON.stringify(summary)}`)
  if (process.env.BENCH_JSON !== undefined && process.env.BENCH_JSON !== '') writeFileSync(process.env.BENCH_JSON, JSON.stringify(summary, null, 2) + '\n')
  if (process.env.BENCH_APPEND === '1') {
    appendFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), '\n' + markdown)
    log('appended to BENCHMARKS.md')
  }
}

function printStorm (f: StormFigures): void {
  log(`  ${f.logins} logins: ${f.loginsPerSec.toFixed(1)} logins/s; AuthnRequest ${f.authnRequest.perSec.toFixed(0)}/s p50 ${f.authnRequest.p50} ms p99 ${f.authnRequest.p99} ms; ` +
    `ACS ${f.acs.perSec.toFixed(1)}/s p50 ${f.acs.p50} ms p99 ${f.acs.p99} ms; errors ${f.errors}${f.firstError !== undefined ? ` (${f.firstError})` : ''}, upstream: ${f.upstream.handoffs} handoffs, ${f.upstream.verified} identities verified, ${f.upstream.identityErrors} refused`)
  log(`  /health: idle p99 ${f.health.idle.p99} ms; during the storm p50 ${f.health.storm.p50} ms, p99 ${f.health.storm.p99} ms, max ${f.health.storm.max} ms (${f.health.storm.count} probes, ${f.health.errors} errors); ` +
    `server event-loop delay p99 ${f.serverLoopDelayMs.p99.toFixed(2)} ms, max ${f.serverLoopDelayMs.max.toFixed(1)} ms, busy ${(f.serverLoopUtilization * 100).toFixed(0)}%, ${f.loopCpuMsPerLogin} ms of its CPU per ACS request${f.meanQueued !== undefined ? `; mean pool queue ${f.meanQueued.toFixed(1)}` : ''}`)
  log(`  RSS (MB): before ${f.rssMb.before}, after ${f.rssMb.afterFirstChunkLogins} ${f.rssMb.afterFirstChunk}, peak during ${f.rssMb.peakDuring}, after ${f.logins} ${f.rssMb.after} (${f.rssMb.growthPct >= 0 ? '+' : ''}${f.rssMb.growthPct}%)`)
  log(`  bytes per session: ${JSON.stringify(f.bytesPerSession)}`)
}

await main()
