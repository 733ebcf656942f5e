// What crosses the thread boundary between the validator pool and its workers: the messages both
// ways, the assertion revived on this side, and where the worker module is. The errors that cross
// it are in worker-errors.ts.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ResponseExpectations, ValidatedAssertion } from '../sp/types.js'
import type { SamlMessageField } from '../sp/read/form-value.js'
import type { SerializedError } from './worker-errors.js'
import type { InboundLogout, LogoutExpectations, LogoutInput } from '../sp/read/logout-message.js'

export interface WorkerOptions {
  /** Nice value added to this thread only (Linux: per thread): the event loop comes first. */
  nice: number
  /** A test hook: a response equal to this string kills the thread, as a crash would. */
  crashOn?: string
}

export interface ValidationTask {
  id: number
  /** The form's bytes (a copy: the task is sent again if its worker dies), or text. */
  samlResponse: SamlMessageField
  /** A logout message to read instead of a login response (the SLO endpoint). */
  logout?: LogoutInput
  nowMs: number
  /** Expectations are sent once per worker, then named by id: parsed keys stay cached here. */
  expId: number
  exp?: ResponseExpectations | LogoutExpectations
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'startup-failed', error: SerializedError }
  | { type: 'result', id: number, ok: true, value: ValidatedAssertion | InboundLogout, heapBytes: number }
  | { type: 'result', id: number, ok: false, error: SerializedError, heapBytes: number }

/** As validateLoginResponse makes it: a structured clone gives back a plain object instead. */
export function reviveAssertion (value: ValidatedAssertion): ValidatedAssertion {
  const attributes: Record<string, string[]> = Object.create(null)
  for (const [name, values] of Object.entries(value.attributes)) attributes[name] = values
  value.attributes = attributes
  return value
}

/**
 * validator-worker beside this module: .js once built (dist/src/runtime), .ts when this module is run
 * as TypeScript (tap): a worker inherits the parent's execArgv, hence its TypeScript loader.
 */
export function validatorWorkerUrl (from: string = import.meta.url): URL {
  const ext = path.extname(fileURLToPath(from))
  const sibling = new URL(`./validator-worker${ext}`, from)
  if (fs.existsSync(sibling)) return sibling
  return pathToFileURL(path.join(path.dirname(fileURLToPath(from)), 'validator-worker.js'))
}
