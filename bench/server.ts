// The gateway under test, in a process of its own (forked by http-bench.ts), so that its CPU, RSS
// and event loop are its own. Beside it, on another port, a bare Fastify route to compare with.
// Commands arrive over IPC: start, stats, reset-delay, close.
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { acquireValidatorPool, type PoolLease } from '../src/sp/validator-pool.js'

export interface StartCommand { cmd: 'start', env: Record<string, string>, cwd: string }
export type Command = StartCommand | { cmd: 'stats', gc?: boolean } | { cmd: 'reset-delay' } | { cmd: 'close' }

export interface ServerStats {
  rss: number
  heapUsed: number
  external: number
  /** Event-loop delay since the last reset, ms. */
  loopDelay: { p50: number, p99: number, max: number }
  /** Share of the time since the last reset that the event loop was busy (0..1). */
  loopUtilization: number
  pool?: ReturnType<PoolLease['pool']['stats']>
}

let app: FastifyInstance | undefined
let bare: FastifyInstance | undefined
let lease: PoolLease | undefined
const delay = monitorEventLoopDelay({ resolution: 1 })
const gc = (globalThis as { gc?: () => void }).gc
let eluStart: EventLoopUtilization = performance.eventLoopUtilization()

async function start ({ env, cwd }: StartCommand): Promise<object> {
  const config = loadConfig({ env, cwd })
  // BENCH_WORKER_NICE: the shared pool made first with this priority; buildApp then joins it.
  if (process.env.BENCH_WORKER_NICE !== undefined && config.validation.workers > 0) {
    lease = await acquireValidatorPool({ size: config.validation.workers, nice: Number(process.env.BENCH_WORKER_NICE) })
  }
  // Logs at the configured level, as in production, written to /dev/null.
  app = await buildApp(config, { logger: { stream: pino.destination({ dest: '/dev/null', sync: false }) } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  if (config.validation.workers > 0) lease ??= await acquireValidatorPool({ size: config.validation.workers })
  bare = Fastify()
  bare.get('/', async () => ({ ok: true }))
  await bare.listen({ host: '127.0.0.1', port: 0 })
  delay.enable()
  return {
    gatewayUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    bareUrl: `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`
  }
}

/** With `settle`, a full GC first: figures that do not depend on when the collector last ran. */
function stats (settle = false): ServerStats {
  if (settle) gc?.()
  const memory = process.memoryUsage()
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    loopDelay: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    loopUtilization: performance.eventLoopUtilization(eluStart).utilization,
    pool: lease?.pool.stats()
  }
}

async function handle (command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'start': return await start(command)
    case 'stats': return stats(command.gc)
    case 'reset-delay':
      delay.reset()
      eluStart = performance.eventLoopUtilization()
      return {}
    case 'close':
      await lease?.release()
      await app?.close()
      await bare?.close()
      setImmediate(() => process.exit(0))
      return {}
  }
}

process.on('message', (message: { id: number, command: Command }) => {
  handle(message.command).then(
    (value) => process.send!({ id: message.id, value }),
    (err: Error) => process.send!({ id: message.id, error: err.stack ?? String(err) })
  )
})
