// The bench's moving parts: the gateway in a process of its own (server.ts), the stub upstream
// and the /health probe in threads of their own, and load loops with bounded concurrency.
import { fork, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import type { Command } from './server.js'
import type { ProbeResult } from './probe-worker.js'
import type { UpstreamCommand, UpstreamCounts, UpstreamData } from './upstream-worker.js'

export interface ServerHandle {
  gatewayUrl: string
  bareUrl: string
  call: <T = unknown>(command: Command) => Promise<T>
  close: () => Promise<void>
}

/** Forks server.js with --expose-gc and starts the gateway configured by `env`. */
export async function startServer (env: Record<string, string>, cwd: string, profileDir?: string): Promise<ServerHandle> {
  // BENCH_SERVER_FLAGS: more node flags for the gateway process (--trace-gc, --max-semi-space-size=…).
  const extra = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean)
  const child: ChildProcess = fork(fileURLToPath(new URL('./server.js', import.meta.url)), [], {
    execArgv: ['--expose-gc', ...extra],
    serialization: 'advanced',
    stdio: ['ignore', process.env.BENCH_SERVER_STDOUT === '1' ? 'inherit' : 'ignore', 'inherit', 'ipc']
  })
  let nextId = 1
  const waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  child.on('message', (message: { id: number, value?: unknown, error?: string }) => {
    const w = waiting.get(message.id)
    waiting.delete(message.id)
    if (message.error !== undefined) w?.reject(new Error(message.error))
    else w?.resolve(message.value)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    for (const w of waiting.values()) w.reject(new Error('the bench server exited'))
    resolve()
  }))
  const call = async <T>(command: Command): Promise<T> => await new Promise<T>((resolve, reject) => {
    const id = nextId++
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
    child.send({ id, command })
  })
  const { gatewayUrl, bareUrl } = await call<{ gatewayUrl: string, bareUrl: string }>({ cmd: 'start', env, cwd, profileDir })
  return {
    gatewayUrl,
    bareUrl,
    call,
    close: async () => {
      await call({ cmd: 'close' }).catch(() => {})
      await exited
    }
  }
}

export interface StubUpstream {
  url: string
  setJwks: (jwks: { keys: unknown[] }) => Promise<void>
  counts: () => Promise<UpstreamCounts>
  close: () => Promise<void>
}

/** Motion's login endpoint, stood in by upstream-worker.js in a thread of its own. */
export async function startStubUpstream (issuer: string, verifyEvery: number): Promise<StubUpstream> {
  const worker = new Worker(new URL('./upstream-worker.js', import.meta.url), { workerData: { issuer, verifyEvery } satisfies UpstreamData })
  const ask = async <T>(command?: UpstreamCommand): Promise<T> => await new Promise<T>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    if (command !== undefined) worker.postMessage(command)
  })
  const { url } = await ask<{ url: string }>()
  return {
    url,
    setJwks: async (jwks) => { await ask({ cmd: 'jwks', jwks }) },
    counts: async () => await ask<UpstreamCounts>({ cmd: 'counts' }),
    close: async () => { await worker.terminate() }
  }
}

export interface Lanes { ms: number, latencies: number[], errors: number, firstError?: string }

/** `count` calls of `fn`, at most `concurrency` at a time; each call's latency is kept. */
export async function runConcurrent (count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<Lanes> {
  return await lanes(Math.min(concurrency, count), (i) => i < count, fn)
}

/** As many calls of `fn` as fit in `seconds`, `concurrency` at a time. */
export async function runFor (seconds: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<Lanes & { count: number }> {
  const end = performance.now() + seconds * 1000
  const run = await lanes(concurrency, () => performance.now() < end, fn)
  return { ...run, count: run.latencies.length }
}

/** `concurrency` lanes calling `fn(i)` for i = 0, 1, 2, … while `goOn(i)`; the latency of call i at index i. */
async function lanes (concurrency: number, goOn: (i: number) => boolean, fn: (i: number) => Promise<void>): Promise<Lanes> {
  let next = 0
  let errors = 0
  let firstError: string | undefined
  const latencies: number[] = []
  const lane = async (): Promise<void> => {
    for (let i = next++; goOn(i); i = next++) {
      const t0 = performance.now()
      try {
        await fn(i)
      } catch (err) {
        errors++
        firstError ??= String((err as Error).message ?? err)
      }
      latencies[i] = performance.now() - t0
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, lane))
  return { ms: performance.now() - start, latencies, errors, firstError }
}

/** Runs `during` while a probe thread requests `url`; the probe's latencies. */
export async function probe (url: string, intervalMs: number, during: () => Promise<void>): Promise<ProbeResult> {
  const worker = new Worker(new URL('./probe-worker.js', import.meta.url), { workerData: { url, intervalMs } })
  const result = new Promise<ProbeResult>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  try {
    await during()
  } finally {
    worker.postMessage('stop')
  }
  const r = await result
  await worker.terminate()
  return r
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
