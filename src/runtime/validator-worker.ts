// One validator thread of the pool (validator-pool.ts): compiles the SAML schemas once at start,
// then runs validateLoginResponse (or, for the SLO endpoint, readLogoutMessage) for each task the
// pool sends, one at a time, off the event loop.
import { parentPort, workerData } from 'node:worker_threads'
import os from 'node:os'
import { getHeapStatistics } from 'node:v8'
import { initSchemaValidator } from '../sp/read/schema.js'
import { validateLoginResponse } from '../sp/read/response.js'
import { readLogoutMessage, type LogoutExpectations } from '../sp/read/logout-message.js'
import { serializeError } from './worker-errors.js'
import { fieldText } from '../sp/read/form-value.js'
import type { ResponseExpectations } from '../sp/types.js'
import type { ValidationTask, WorkerMessage, WorkerOptions } from './worker-protocol.js'

const MAX_CACHED_EXPECTATIONS = 8

function start (): void {
  const port = parentPort
  if (port == null) throw new Error('validator-worker.ts runs as a worker thread only')
  const opts = workerData as WorkerOptions
  if (opts.nice > 0) {
    // pid 0 = the calling thread on Linux; elsewhere it may lower the whole process, or fail.
    try { os.setPriority(0, Math.min(19, os.getPriority(0) + opts.nice)) } catch {}
  }
  try {
    initSchemaValidator()
  } catch (err) {
    port.postMessage({ type: 'startup-failed', error: serializeError(err) } satisfies WorkerMessage)
    return
  }

  const expectations = new Map<number, ResponseExpectations | LogoutExpectations>()
  port.on('message', (task: ValidationTask) => {
    if (task.exp !== undefined) {
      expectations.set(task.expId, task.exp)
      if (expectations.size > MAX_CACHED_EXPECTATIONS) expectations.delete(expectations.keys().next().value as number)
    }
    const exp = expectations.get(task.expId)
    let message: WorkerMessage
    try {
      if (exp === undefined) throw new Error(`validator worker: unknown expectations ${task.expId}`)
      if (opts.crashOn !== undefined && fieldText(task.samlResponse) === opts.crashOn) process.exit(70)
      const value = task.logout !== undefined
        ? readLogoutMessage(task.logout, exp as LogoutExpectations, task.nowMs)
        : validateLoginResponse(task.samlResponse, exp as ResponseExpectations, task.nowMs)
      message = { type: 'result', id: task.id, ok: true, value, heapBytes: heapBytes() }
    } catch (err) {
      message = { type: 'result', id: task.id, ok: false, error: serializeError(err), heapBytes: heapBytes() }
    }
    port.postMessage(message)
  })
  port.postMessage({ type: 'ready' } satisfies WorkerMessage)
}

/** This isolate's heap plus what it holds outside it (the libxml2 wasm memory among it). */
function heapBytes (): number {
  const h = getHeapStatistics()
  return h.used_heap_size + h.external_memory
}

start()
