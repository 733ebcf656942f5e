// BENCH_SECTIONS=parser-flood: what a parser bomb costs the gateway. (1) CPU to refuse the worst
// document of each shape that fits the body limit, at the ACS and the SLO endpoint (both bindings),
// in this process, beside what xmldom alone spent on the nested-namespace one before the pre-scan.
// (2) /health latency, idle and while one client sends such documents at the ACS and the SLO
// endpoint: paced at what the default rate limit lets one client send (1200/min per route, 20/s
// each), and unpaced (the limit counts per minute, so in a window's first seconds a client gets
// 1,200 per route through as fast as it can send them): p99 beside idle, and the full collections
// of the gateway's event-loop thread in each window.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import { performance } from 'node:perf_hooks'
import { DOMParser } from '@xmldom/xmldom'
import { Pool } from 'undici'
import { validateLoginResponse } from '../src/sp/read/response.js'
import { readLogoutMessage } from '../src/sp/read/logout-message.js'
import { initSchemaValidator } from '../src/sp/read/schema.js'
import { IDP_CERT, TEST_IDP_ISSUER, TEST_NOW, TEST_SP_ENTITY_ID, TEST_TENANT, testExpectations } from './fixture-idp.js'
import { nested, parserBombs } from './parser-bombs.js'
import { probe, runFor, sleep, startServer } from './harness.js'
import { summarize, type Summary } from './stats.js'
import type { ServerStats } from './server.js'

const BASE = '/api/auth/saml'

export interface ParserFloodFigures {
  /** shape → entry → least and median CPU ms of 9 refusals. */
  cpuMs: Record<string, Record<string, { least: number, median: number, code: string }>>
  xmldomBeforeMs: number
  health: { idle: Summary, idleFullGc: FullGc, floods: FloodFigures[] }
}

export interface FloodFigures {
  /** Requests per second the client keeps to, all routes together; undefined: as fast as it can. */
  rate?: number
  seconds: number
  sent: number
  refused: Record<string, number>
  health: Summary
  ratioP99: number
  /** Full collections of the gateway's event-loop thread during the flood. */
  fullGc: FullGc
}

export interface FullGc { count: number, ms: number }

/** What the default GATEWAY_RATE_LIMIT (1200/min per route and client) lets one client send to the two routes. */
const RATE_LIMIT_PER_SECOND = 2 * 1200 / 60

function cpu (fn: () => void): number {
  const start = process.cpuUsage()
  fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

function codeOf (fn: () => void): string {
  try { fn(); return 'accepted' } catch (err) { return String((err as { code?: string }).code) }
}

export function parserCpu (runs = 9): Pick<ParserFloodFigures, 'cpuMs' | 'xmldomBeforeMs'> {
  initSchemaValidator()
  const exp = testExpectations()
  const logoutExp = { idpIssuers: [TEST_IDP_ISSUER], idpCerts: [IDP_CERT], sloUrl: `https://motion.example.com${BASE}/logout/callback`, allowSha1: false, clockSkewMs: 180_000, maxMessageBytes: 256 * 1024 }
  const cpuMs: ParserFloodFigures['cpuMs'] = {}
  for (const bomb of parserBombs()) {
    const b64 = Buffer.from(bomb.xml).toString('base64')
    const query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(bomb.xml)).toString('base64'))}`
    const entries: Record<string, () => void> = {
      ACS: () => validateLoginResponse(b64, exp, TEST_NOW),
      'SLO POST': () => readLogoutMessage({ binding: 'post', body: { SAMLRequest: b64 } }, logoutExp, TEST_NOW),
      'SLO Redirect': () => readLogoutMessage({ binding: 'redirect', rawQuery: query }, logoutExp, TEST_NOW)
    }
    cpuMs[bomb.id] = {}
    for (const [entry, run] of Object.entries(entries)) {
      const code = codeOf(run)
      const costs = Array.from({ length: runs }, () => cpu(() => codeOf(run))).sort((a, b) => a - b)
      cpuMs[bomb.id][entry] = { least: costs[0], median: costs[Math.floor(runs / 2)], code }
    }
  }
  const xmldomBeforeMs = cpu(() => new DOMParser({ errorHandler: { warning: () => {}, error: () => {} } }).parseFromString(nested(6_000, true), 'text/xml'))
  return { cpuMs, xmldomBeforeMs }
}

export async function parserFlood (opts: { seconds: number, concurrency: number, probeIntervalMs: number, workers: number, log: (line: string) => void }): Promise<ParserFloodFigures> {
  const { cpuMs, xmldomBeforeMs } = parserCpu()
  const dataDir = mkdtempSync(join(tmpdir(), 'saml-gateway-bench-'))
  const server = await startServer({
    DOMAIN: 'motion.example.com',
    XC_SAML_ENTRYPOINT: `https://login.microsoftonline.com/${TEST_TENANT}/saml2`,
    XC_SAML_CERT: IDP_CERT,
    XC_SAML_ISSUER: TEST_SP_ENTITY_ID,
    GATEWAY_UPSTREAM_LOGIN_URL: 'http://127.0.0.1:9/api/login/saml',
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_SESSION_STORE: 'sqlite',
    GATEWAY_LOG_LEVEL: 'warn',
    GATEWAY_VALIDATION_WORKERS: String(opts.workers)
  }, dataDir)
  const http = new Pool(server.gatewayUrl, { connections: opts.concurrency })
  const bodies = parserBombs().flatMap((bomb) => {
    const b64 = encodeURIComponent(Buffer.from(bomb.xml).toString('base64'))
    return [{ path: `${BASE}/callback`, body: `SAMLResponse=${b64}` }, { path: `${BASE}/logout/callback`, body: `SAMLRequest=${b64}` }]
  })
  try {
    const healthUrl = `${server.gatewayUrl}${BASE}/health`
    // What the gateway's event loop spent in full collections (the pauses that every request waits out).
    const gcSince = async (): Promise<() => Promise<FullGc>> => {
      const { fullGc: before } = await server.call<ServerStats>({ cmd: 'stats' })
      return async () => {
        const { fullGc: after } = await server.call<ServerStats>({ cmd: 'stats' })
        return { count: after.count - before.count, ms: after.ms - before.ms }
      }
    }
    const idleGc = await gcSince()
    const idle = summarize((await probe(healthUrl, opts.probeIntervalMs, async () => await sleep(opts.seconds * 1000))).latencies)
    const idleFullGc = await idleGc()
    const floods: FloodFigures[] = []
    // Paced first: the unpaced flood then meets a rate-limit window that is already partly used.
    for (const rate of [RATE_LIMIT_PER_SECOND, undefined]) {
      const refused: Record<string, number> = {}
      let sent = 0
      const floodGc = await gcSince()
      const started = performance.now()
      const flood = await probe(healthUrl, opts.probeIntervalMs, async () => {
        await runFor(opts.seconds, opts.concurrency, async (i) => {
          if (rate !== undefined) await sleep(started + i * 1000 / rate - performance.now())
          const { path, body } = bodies[i % bodies.length]
          const res = await http.request({ path, method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } })
          const answer = await res.body.json() as { error?: string }
          sent++
          const key = `${res.statusCode} ${answer.error ?? ''}`
          refused[key] = (refused[key] ?? 0) + 1
        })
      })
      const fullGc = await floodGc()
      const health = summarize(flood.latencies)
      floods.push({ rate, seconds: opts.seconds, sent, refused, health, ratioP99: health.p99 / idle.p99, fullGc })
    }
    return { cpuMs, xmldomBeforeMs, health: { idle, idleFullGc, floods } }
  } finally {
    await http.close()
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

export function parserFloodLines (f: ParserFloodFigures): string[] {
  const lines = ['| shape (worst within the body limit) | ACS | SLO POST | SLO Redirect |', '|---|---|---|---|']
  for (const [shape, entries] of Object.entries(f.cpuMs)) {
    const cell = (e: { least: number, median: number, code: string }): string => `${e.median.toFixed(2)} ms (${e.code})`
    lines.push(`| \`${shape}\` | ${cell(entries.ACS)} | ${cell(entries['SLO POST'])} | ${cell(entries['SLO Redirect'])} |`)
  }
  lines.push('', `xmldom alone on \`parser-nested-namespaces\`, as before the pre-scan: ${f.xmldomBeforeMs.toFixed(0)} ms of CPU.`, '',
    `/health idle: p50 ${f.health.idle.p50.toFixed(2)} ms, p99 ${f.health.idle.p99.toFixed(2)} ms; ${fullGcLine(f.health.idleFullGc)}.`)
  for (const flood of f.health.floods) {
    const pace = flood.rate === undefined ? 'as fast as it can (unpaced)' : `at ${flood.rate} requests/s (the default rate limit's pace)`
    lines.push(`/health while one client sends the bombs to the ACS and the SLO endpoint ${pace} for ${flood.seconds} s (${flood.sent} requests: ${Object.entries(flood.refused).map(([k, v]) => `${v} × ${k}`).join(', ')}): ` +
      `p50 ${flood.health.p50.toFixed(2)} ms, p99 ${flood.health.p99.toFixed(2)} ms: p99 ${flood.ratioP99.toFixed(2)}× idle; ${fullGcLine(flood.fullGc)}.`)
  }
  return lines
}

function fullGcLine (gc: FullGc): string {
  return `${gc.count} full collection${gc.count === 1 ? '' : 's'} of the gateway's event-loop thread (${gc.ms.toFixed(0)} ms)`
}
