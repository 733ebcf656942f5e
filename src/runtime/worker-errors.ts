// Errors cross a worker-thread boundary as plain data ({ code, message }); this turns them back
// into the very errors of src/errors.ts, so that a rejection found in a validator worker answers
// exactly as the same rejection found inline: same class, code, status and message.
import { errors, type RejectionDetail } from '../errors.js'

type ErrorClass = new (...args: unknown[]) => Error & { code: string, statusCode?: number }

/** code → constructor, read once from the errors table (a constructor only knows its code per instance). */
const BY_CODE = new Map<string, ErrorClass>()
for (const Ctor of Object.values(errors) as unknown as ErrorClass[]) {
  BY_CODE.set(new Ctor().code, Ctor)
}

/** What a worker sends for a thrown error. */
export interface SerializedError {
  code?: string
  message: string
  name?: string
  statusCode?: number
  /** What the log shows beside the code (expected and received values). */
  detail?: RejectionDetail
}

export function serializeError (err: unknown): SerializedError {
  const e = err as Partial<Error & { code: unknown, statusCode: unknown, detail: unknown }> | null
  return {
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: typeof e?.message === 'string' ? e.message : String(err),
    name: typeof e?.name === 'string' ? e.name : undefined,
    statusCode: typeof e?.statusCode === 'number' ? e.statusCode : undefined,
    detail: e?.detail !== null && typeof e?.detail === 'object' ? e.detail as RejectionDetail : undefined
  }
}

/**
 * The gateway error for `code`, carrying `message` as thrown. An unknown code (a bug, not a
 * rejection) stays a plain Error with that code, so it still ends as a 500.
 */
export function errorFromCode (code: string | undefined, message: string): Error & { code?: string, statusCode?: number } {
  const Ctor = code === undefined ? undefined : BY_CODE.get(code)
  if (Ctor !== undefined) {
    const err = new Ctor()
    err.message = message
    return err
  }
  const err = new Error(message) as Error & { code?: string }
  if (code !== undefined) err.code = code
  return err
}

/** errorFromCode for a SerializedError: the status of an unknown error survives too. */
export function deserializeError (data: SerializedError): Error & { code?: string, statusCode?: number } {
  const err = errorFromCode(data.code, data.message)
  if (data.detail !== undefined) Object.assign(err, { detail: data.detail })
  if (!BY_CODE.has(data.code ?? '')) {
    if (data.name !== undefined) err.name = data.name
    if (data.statusCode !== undefined) err.statusCode = data.statusCode
  }
  return err
}
