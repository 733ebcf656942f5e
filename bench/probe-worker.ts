// A bench thread that requests one URL over and over (one at a time, a pause between), as nginx
// sends other pages while the storm goes on, and keeps each latency. Its own event loop: the load
// generator's work does not delay these measurements.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'

export interface ProbeData { url: string, intervalMs: number }
export interface ProbeResult { latencies: number[], errors: number }

const { url, intervalMs } = workerData as ProbeData
const target = new URL(url)
const pool = new Pool(target.origin, { connections: 1 })
const stop = new AbortController()
const latencies: number[] = []
let errors = 0

parentPort!.on('message', () => { stop.abort() })

while (!stop.signal.aborted) {
  const start = performance.now()
  try {
    const res = await pool.request({ path: target.pathname, method: 'GET' })
    await res.body.dump()
    if (res.statusCode !== 200) errors++
    latencies.push(performance.now() - start)
  } catch {
    errors++
  }
  await sleep(intervalMs)
}
await pool.close()
parentPort!.postMessage({ latencies, errors } satisfies ProbeResult)
