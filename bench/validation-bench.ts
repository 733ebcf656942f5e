// Secure validation alone, on the same pre-generated responses: ours (XSD + every check) on one
// core and across both (the product's ValidatorPool, and plain threads), beside node-saml 5.1 and
// the RSA-2048 verify floor. Each implementation runs in threads of its own, interleaved by round;
// the figures are medians over the rounds.
import { Worker } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { ValidatorPool } from '../src/runtime/validator-pool.js'
import { testExpectations } from './fixture-idp.js'
import { median } from './stats.js'
import type { Implementation, RunRequest, RunResult, ValidationWorkerData } from './validation-worker.js'

export interface ValidationOptions {
  responses: string[]
  nowMs: number
  /** Validations per timed run. */
  batch: number
  rounds: number
  /** RSA verifies per timed run. */
  rsaBatch: number
  log: (line: string) => void
}

export type Rates = Record<string, number>

export interface ValidationFigures {
  responses: number
  xmlBytes: number
  batch: number
  rounds: number
  /** ops/s, median over the rounds. */
  perSec: Rates
  /** ms of CPU per validation (process CPU time / validations), median over the rounds. */
  cpuMsPerOp: Rates
  ratios: Rates
  runs: Record<string, number[]>
}

interface BenchThread { run: (r: RunRequest) => Promise<RunResult>, close: () => Promise<number> }

async function thread (impl: Implementation, responses: string[], nowMs: number): Promise<BenchThread> {
  const worker = new Worker(new URL('./validation-worker.js', import.meta.url), {
    workerData: { impl, responses, nowMs } satisfies ValidationWorkerData
  })
  // One run at a time: the pending one is settled by the next message, or by a crash.
  let pending: { resolve: (r: RunResult) => void, reject: (err: Error) => void } | undefined
  worker.on('error', (err) => pending?.reject(err))
  await new Promise((resolve) => worker.once('message', resolve))
  worker.on('message', (result: RunResult) => pending?.resolve(result))
  return {
    run: async (r) => await new Promise<RunResult>((resolve, reject) => {
      pending = { resolve, reject }
      worker.postMessage(r)
    }),
    close: async () => await worker.terminate()
  }
}

export async function validationBench (o: ValidationOptions): Promise<ValidationFigures> {
  const n = o.responses.length
  const [ours, ours2, nodeSaml, nodeSaml2, rsa] = await Promise.all([
    thread('ours', o.responses, o.nowMs), thread('ours', o.responses, o.nowMs),
    thread('node-saml', o.responses, o.nowMs), thread('node-saml', o.responses, o.nowMs),
    thread('rsa', o.responses, o.nowMs)
  ])
  // nice 0 here, as the threads it is compared with: on a shared machine a lowered priority would
  // measure the neighbours, not the pool. The HTTP bench runs the gateway's default (nice 5).
  const pool1 = new ValidatorPool({ size: 1, nice: 0 })
  const pool2 = new ValidatorPool({ size: 2, nice: 0 })
  await Promise.all([pool1.ready(), pool2.ready()])
  const exp = testExpectations()
  const runs: Record<string, number[]> = {}
  const cpu: Record<string, number[]> = {}
  // CPU time of this whole process per validation: the other threads are idle meanwhile, so this is
  // what the validating threads (and the pool's dispatch) spent, whatever the neighbours take.
  let cpuStart = process.cpuUsage()
  const record = (name: string, count: number, ms: number): void => {
    const used = process.cpuUsage(cpuStart)
    ;(runs[name] ??= []).push(count / (ms / 1000))
    ;(cpu[name] ??= []).push((used.user + used.system) / 1000 / count)
    cpuStart = process.cpuUsage()
  }
  const startCpu = (): void => { cpuStart = process.cpuUsage() }
  const check = (name: string, results: RunResult[]): void => {
    const failed = results.reduce((a, r) => a + r.failed, 0)
    if (failed > 0) throw new Error(`${name}: ${failed} validations failed: ${results.find((r) => r.firstError)?.firstError}`)
  }
  const viaPool = async (pool: ValidatorPool, from: number, count: number): Promise<number> => {
    const start = performance.now()
    await Promise.all(Array.from({ length: count }, async (_, i) => await pool.validate(o.responses[(from + i) % n], exp, o.nowMs)))
    return performance.now() - start
  }
  const split = (from: number, count: number): [RunRequest, RunRequest] =>
    [{ from, to: from + Math.floor(count / 2) }, { from: from + Math.floor(count / 2), to: from + count }]

  try {
    // Warm-up: JIT, the first schema use, node-saml's first call; not timed.
    const warm = Math.min(100, n)
    check('warm-up', await Promise.all([ours.run({ from: 0, to: warm }), ours2.run({ from: 0, to: warm }),
      nodeSaml.run({ from: 0, to: warm }), nodeSaml2.run({ from: 0, to: warm }), rsa.run({ from: 0, to: 1000 })]))
    await viaPool(pool1, 0, warm)
    await viaPool(pool2, 0, warm)

    for (let round = 0; round < o.rounds; round++) {
      const from = (round * o.batch) % n
      const one = { from, to: from + o.batch }
      startCpu()
      let r = await ours.run(one); check('ours', [r]); record('ours, 1 core', r.ok, r.ms)
      r = await nodeSaml.run(one); check('node-saml', [r]); record('node-saml, 1 core', r.ok, r.ms)
      r = await rsa.run({ from: 0, to: o.rsaBatch }); check('rsa', [r]); record('RSA-2048 verify, 1 core', r.ok, r.ms)
      record('ours, ValidatorPool(1)', o.batch, await viaPool(pool1, from, o.batch))
      record('ours, ValidatorPool(2)', o.batch, await viaPool(pool2, from, o.batch))
      startCpu()
      let start = performance.now()
      const [a, b] = split(from, o.batch)
      let both = await Promise.all([ours.run(a), ours2.run(b)])
      check('ours x2', both); record('ours, 2 plain threads', o.batch, performance.now() - start)
      startCpu()
      start = performance.now()
      both = await Promise.all([nodeSaml.run(a), nodeSaml2.run(b)])
      check('node-saml x2', both); record('node-saml, 2 threads', o.batch, performance.now() - start)
      o.log(`  round ${round + 1}/${o.rounds}: ` + Object.entries(runs).map(([k, v]) => `${k} ${Math.round(v[v.length - 1])}/s`).join(', '))
    }
  } finally {
    await Promise.all([ours.close(), ours2.close(), nodeSaml.close(), nodeSaml2.close(), rsa.close(), pool1.close(), pool2.close()])
  }

  const perSec: Rates = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]))
  const cpuMsPerOp: Rates = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(median(v) * 1000) / 1000]))
  const ratio = (a: string, b: string): number => Math.round(perSec[a] / perSec[b] * 100) / 100
  return {
    responses: n,
    xmlBytes: Buffer.from(o.responses[0], 'base64').length,
    batch: o.batch,
    rounds: o.rounds,
    perSec,
    cpuMsPerOp,
    ratios: {
      'ours / node-saml, 1 core': ratio('ours, 1 core', 'node-saml, 1 core'),
      'ours ValidatorPool(2) / ours 1 core': ratio('ours, ValidatorPool(2)', 'ours, 1 core'),
      'ours ValidatorPool(2) / ValidatorPool(1)': ratio('ours, ValidatorPool(2)', 'ours, ValidatorPool(1)'),
      'ours 2 plain threads / ours 1 core': ratio('ours, 2 plain threads', 'ours, 1 core'),
      'ours ValidatorPool(2) / node-saml 2 threads': ratio('ours, ValidatorPool(2)', 'node-saml, 2 threads'),
      'node-saml 2 threads / node-saml 1 core': ratio('node-saml, 2 threads', 'node-saml, 1 core'),
      'RSA verify / ours, 1 core': ratio('RSA-2048 verify, 1 core', 'ours, 1 core'),
      // What two cores would give if both were free: one core's CPU per validation over the pool's.
      'CPU per validation, ours 1 core / ValidatorPool(2)': Math.round(median(cpu['ours, 1 core']) / median(cpu['ours, ValidatorPool(2)']) * 100) / 100
    },
    runs: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((x) => Math.round(x))]))
  }
}
