// The gateway under test, in a process of its own (forked by http-bench.ts), so that its CPU, RSS
// and event loop are its own. Beside it, on another port, a bare Fastify route to compare with.
// Commands arrive over IPC: start, stats, measure-reset/start/stop (event-loop delay and
// utilization, over the measured windows only), close.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Session } from 'node:inspector/promises'
import { constants, createHistogram, performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/index.js'
import { acquireValidatorPool, type PoolLease } from '../src/runtime/shared-validator-pool.js'

export interface StartCommand {
  cmd: 'start'
  env: Record<string, string>
  cwd: string
  /** Profile the event-loop thread during each measured window into this directory. */
  profileDir?: string
}
export type Command = StartCommand | { cmd: 'stats', gc?: boolean } | { cmd: 'measure-reset' | 'measure-start' | 'measure-stop' } | { cmd: 'close' }

export interface ServerStats {
  rss: number
  heapUsed: number
  external: number
  /** Event-loop delay over the measured windows since the last reset, ms. */
  loopDelay: { p50: number, p99: number, max: number }
  /** Share of the measured windows' time that the event loop was busy (0..1). */
  loopUtilization: number
  /** CPU time of the event-loop thread alone in the measured windows, ms (Linux; else 0). */
  loopCpuMs: number
  pool?: ReturnType<PoolLease['pool']['stats']>
  /** Full (mark-compact) collections of the event-loop thread since the start: how many, ms in all. */
  fullGc: { count: number, ms: number }
}

let app: FastifyInstance | undefined
let bare: FastifyInstance | undefined
let lease: PoolLease | undefined
// Event-loop delay in the measured windows only: how late a 1 ms interval timer fires (what
// monitorEventLoopDelay measures; one of those, disabled and enabled again, would count the pause
// between windows as one long delay).
const delay = createHistogram()
let ticker: NodeJS.Timeout | undefined

function delayTicker (): NodeJS.Timeout {
  let last = performance.now()
  return setInterval(() => {
    const now = performance.now()
    delay.record(Math.max(1, Math.round((now - last - 1) * 1e6)))
    last = now
  }, 1)
}
const gc = (globalThis as { gc?: () => void }).gc
const fullGc = { count: 0, ms: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue
    fullGc.count++
    fullGc.ms += entry.duration
  }
}).observe({ entryTypes: ['gc'] })
let eluMark: EventLoopUtilization | undefined
const eluSum = { idle: 0, active: 0, cpuMs: 0 }
let cpuMark = 0
let profiler: Session | undefined
let profileDir: string | undefined
let profiles = 0

/** utime + stime of this thread, ms: /proc/thread-self/stat (the event loop's thread here). */
function threadCpuMs (): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10 // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return 0
  }
}

async function start ({ env, cwd, profileDir: dir }: StartCommand): Promise<object> {
  const config = loadConfig({ env, cwd })
  profileDir = dir
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
    loopUtilization: eluSum.active / Math.max(1e-9, eluSum.active + eluSum.idle),
    loopCpuMs: eluSum.cpuMs,
    pool: lease?.pool.stats(),
    fullGc: { ...fullGc }
  }
}

async function handle (command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'start': return await start(command)
    case 'stats': return stats(command.gc)
    case 'measure-reset':
      delay.reset()
      eluSum.idle = eluSum.active = eluSum.cpuMs = 0
      return {}
    case 'measure-start':
      ticker = delayTicker()
      if (profileDir !== undefined) {
        profiler ??= new Session()
        profiler.connect()
        await profiler.post('Profiler.enable')
        await profiler.post('Profiler.start')
      }
      eluMark = performance.eventLoopUtilization()
      cpuMark = threadCpuMs()
      return {}
    case 'measure-stop': {
      clearInterval(ticker)
      const elu = performance.eventLoopUtilization(eluMark)
      eluSum.idle += elu.idle
      eluSum.active += elu.active
      eluSum.cpuMs += threadCpuMs() - cpuMark
      if (profiler !== undefined && profileDir !== undefined) {
        const { profile } = await profiler.post('Profiler.stop')
        writeFileSync(join(profileDir, `gateway-loop-${process.pid}-${++profiles}.cpuprofile`), JSON.stringify(profile))
        profiler.disconnect()
      }
      return {}
    }
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
