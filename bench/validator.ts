// Response validator benchmark: latency, memory growth and event-loop stalls.
//   npx tsc -p tsconfig.json && node --expose-gc dist/bench/validator.js
// 1,000 distinct Entra-shaped responses (assertion-only RSA-SHA256, ten claims), built beforehand.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { validateLoginResponse } from '../src/sp/validate-response.js'
import { buildResponse, entraClaims, testExpectations, TEST_NOW } from '../test/helpers/idp.js'

const DISTINCT = 1_000
const MEMORY_RUNS = 5_000
const STALL_RUNS = 2_000

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

function build (): string[] {
  const responses: string[] = []
  for (let i = 0; i < DISTINCT; i++) {
    const nameId = `user${i}@contoso.com`
    responses.push(buildResponse({ nameIdXml: nameId, attributes: entraClaims(nameId), inResponseTo: `_req${i}` }))
  }
  return responses
}

async function main (): Promise<void> {
  const responses = build()
  const exp = testExpectations()
  const bytes = Buffer.from(responses[0], 'base64').length
  console.log(`${DISTINCT} distinct responses, ${(bytes / 1024).toFixed(1)} KB of XML each (${responses[0].length} base64 chars)`)

  // Cold: the first call compiles the XSDs (once per process).
  let start = performance.now()
  validateLoginResponse(responses[0], exp, TEST_NOW)
  console.log(`first call (schema compile included): ${(performance.now() - start).toFixed(1)} ms`)

  // Latency: median over the 1,000 distinct responses, after a short warm-up.
  for (let i = 0; i < 200; i++) validateLoginResponse(responses[i], exp, TEST_NOW)
  const times: number[] = []
  for (const b64 of responses) {
    start = performance.now()
    validateLoginResponse(b64, exp, TEST_NOW)
    times.push(performance.now() - start)
  }
  const sorted = [...times].sort((a, b) => a - b)
  console.log(`per validation: median ${median(times).toFixed(3)} ms, p90 ${sorted[Math.floor(DISTINCT * 0.9)].toFixed(3)} ms, ` +
    `p99 ${sorted[Math.floor(DISTINCT * 0.99)].toFixed(3)} ms, ~${Math.round(1000 / median(times))} validations/s on one core`)

  // Memory: RSS after the first 500 validations of this phase vs after 5,000.
  gc()
  let rss500 = 0
  let heap500 = 0
  for (let i = 1; i <= MEMORY_RUNS; i++) {
    validateLoginResponse(responses[i % DISTINCT], exp, TEST_NOW)
    if (i === 500) {
      gc()
      rss500 = process.memoryUsage().rss
      heap500 = process.memoryUsage().heapUsed
    }
  }
  gc()
  const after = process.memoryUsage()
  console.log(`RSS after 500: ${mb(rss500)} MB, after ${MEMORY_RUNS}: ${mb(after.rss)} MB (${after.rss >= rss500 ? '+' : ''}${mb(after.rss - rss500)} MB); ` +
    `heap ${mb(heap500)} → ${mb(after.heapUsed)} MB${(globalThis as { gc?: unknown }).gc == null ? ' (run with --expose-gc for settled figures)' : ''}`)

  // Event loop: one validation per turn, yielding with setImmediate in between.
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  let longestTurn = 0
  await new Promise<void>((resolve) => {
    let i = 0
    const step = (): void => {
      const t0 = performance.now()
      validateLoginResponse(responses[i % DISTINCT], exp, TEST_NOW)
      longestTurn = Math.max(longestTurn, performance.now() - t0)
      if (++i < STALL_RUNS) setImmediate(step)
      else resolve()
    }
    setImmediate(step)
  })
  delay.disable()
  console.log(`event loop over ${STALL_RUNS} validations: longest stall ${(delay.max / 1e6).toFixed(2)} ms, ` +
    `p99 ${(delay.percentile(99) / 1e6).toFixed(2)} ms, mean ${(delay.mean / 1e6).toFixed(2)} ms; longest single validation ${longestTurn.toFixed(2)} ms`)
}

await main()
