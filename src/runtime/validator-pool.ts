// Login responses validated off the event loop: a pool of worker threads (validator-worker.ts),
// one per core by default, each with the SAML schemas compiled once at its start. validate() has
// the shape of validateLoginResponse and answers the same value or throws the same error (its
// code, class, status and message rebuilt on this side by error-from-code.ts).
//
// - Tasks wait in one queue here; each worker holds at most `perWorker` of them, so that a worker
//   never idles while this thread is busy answering HTTP.
// - A worker is replaced after `maxValidations` tasks or once its heap passes `maxHeapMb`: the new
//   one starts before the old one goes, so capacity never drops.
// - A worker that dies takes no request with it: its tasks are retried on another worker, once;
//   a message that kills two workers is refused as malformed.
// - Workers run at a lower priority than this thread (Linux), so /health and the other routes stay
//   quick while validation saturates every core.
import { Worker } from 'node:worker_threads'
import os from 'node:os'
import { errors } from '../errors.js'
import { deserializeError, type SerializedError } from './worker-errors.js'
import type { ResponseExpectations, ValidatedAssertion } from '../sp/types.js'
import { ExpectationIds } from './expectation-ids.js'
import { reviveAssertion, validatorWorkerUrl, type ValidationTask, type WorkerMessage, type WorkerOptions } from './worker-protocol.js'
import type { InboundLogout, LogoutExpectations, LogoutInput } from '../sp/read/logout-message.js'

export interface ValidatorPoolOptions {
  /** Worker threads; default: the number of cores. */
  size?: number
  /** Tasks handed to one worker at a time (1 running, the rest waiting in its port). Default 2. */
  perWorker?: number
  /** Replace a worker after this many validations. Default 20,000. */
  maxValidations?: number
  /** Replace a worker whose heap (V8 + external) passes this. Default 96 MB. */
  maxHeapMb?: number
  /** Hard V8 old-space limit of a worker: past it the worker dies (and is replaced). Default 256 MB. */
  heapLimitMb?: number
  /** Nice value added to the worker threads. Default 5. */
  nice?: number
  /** Where validator-worker is (default: beside this module, .js or .ts as this module is). */
  workerUrl?: URL
  /** Told about replacements and crashes (the app's logger). */
  log?: { warn: (obj: object, msg: string) => void, error: (obj: object, msg: string) => void }
  /** Test hook, see WorkerOptions.crashOn. */
  crashOn?: string
}

interface Task {
  id: number
  samlResponse: ValidationTask['samlResponse']
  logout?: LogoutInput
  nowMs: number
  expId: number
  exp: ResponseExpectations | LogoutExpectations
  /** Workers that died while running it. */
  crashes: number
  resolve: (value: ValidatedAssertion | InboundLogout) => void
  reject: (err: unknown) => void
}

interface Slot {
  worker: Worker
  ready: boolean
  retiring: boolean
  /** Expectation ids this worker has been sent. */
  known: Set<number>
  inFlight: Map<number, Task>
  done: number
}

export interface ValidatorPoolStats {
  workers: number
  queued: number
  inFlight: number
  validated: number
  recycled: number
  crashed: number
}

const RETRIES = 1
const MAX_STARTUP_FAILURES = 3

export class ValidatorPool {
  readonly size: number
  private readonly opts: Required<Omit<ValidatorPoolOptions, 'log' | 'crashOn' | 'workerUrl' | 'size'>>
  private readonly workerUrl: URL
  private readonly slots = new Set<Slot>()
  private readonly queue: Task[] = []
  private readonly expIds = new ExpectationIds()
  private nextTaskId = 1
  private closed = false
  private referenced = true
  private startupFailures = 0
  private startupError?: SerializedError
  private readonly counters = { validated: 0, recycled: 0, crashed: 0 }
  private readonly firstReady: Promise<void>
  private resolveFirstReady!: () => void
  private rejectFirstReady!: (err: Error) => void

  constructor (private readonly options: ValidatorPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? os.availableParallelism())
    this.opts = {
      perWorker: Math.max(1, options.perWorker ?? 2),
      maxValidations: options.maxValidations ?? 20_000,
      maxHeapMb: options.maxHeapMb ?? 96,
      heapLimitMb: options.heapLimitMb ?? 256,
      nice: options.nice ?? 5
    }
    this.workerUrl = options.workerUrl ?? validatorWorkerUrl()
    this.firstReady = new Promise((resolve, reject) => {
      this.resolveFirstReady = resolve
      this.rejectFirstReady = reject
    })
    this.firstReady.catch(() => {})
    for (let i = 0; i < this.size; i++) this.spawn()
  }

  /** Resolves once a worker has compiled the schemas; rejects if none can start (a broken install). */
  async ready (): Promise<void> {
    await this.firstReady
  }

  /** validateLoginResponse, in a worker thread. */
  validate = async (samlResponse: ValidationTask['samlResponse'], exp: ResponseExpectations, nowMs: number): Promise<ValidatedAssertion> =>
    await this.enqueue(samlResponse, undefined, exp, nowMs) as ValidatedAssertion

  /** readLogoutMessage, in a worker thread: the SLO endpoint parses untrusted XML too. */
  readLogout = async (input: LogoutInput, exp: LogoutExpectations, nowMs: number): Promise<InboundLogout> =>
    await this.enqueue('', input, exp, nowMs) as InboundLogout

  private async enqueue (samlResponse: ValidationTask['samlResponse'], logout: LogoutInput | undefined, exp: ResponseExpectations | LogoutExpectations, nowMs: number): Promise<ValidatedAssertion | InboundLogout> {
    if (this.closed) throw new Error('the validator pool is closed')
    return await new Promise((resolve, reject) => {
      // Expectations are read now (IdP certificates may have rolled over), as a plain object.
      const snapshot = { ...exp }
      this.queue.push({ id: this.nextTaskId++, samlResponse, logout, nowMs, exp: snapshot, expId: this.expIds.idOf(snapshot), crashes: 0, resolve, reject })
      this.dispatch()
    })
  }

  stats (): ValidatorPoolStats {
    let inFlight = 0
    for (const slot of this.slots) inFlight += slot.inFlight.size
    return { workers: this.slots.size, queued: this.queue.length, inFlight, ...this.counters }
  }

  isClosed (): boolean {
    return this.closed
  }

  /** Workers keep the process alive (the default) or not (an idle pool nobody uses). */
  ref (): void {
    this.referenced = true
    for (const slot of this.slots) slot.worker.ref()
  }

  unref (): void {
    this.referenced = false
    for (const slot of this.slots) slot.worker.unref()
  }

  /** The thread ids of the live workers (tests). */
  threadIds (): number[] {
    return [...this.slots].map((slot) => slot.worker.threadId)
  }

  /** Stops every worker. Tasks still queued or running are rejected. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const closing = new Error('the validator pool is closed')
    for (const task of this.queue.splice(0)) task.reject(closing)
    const slots = [...this.slots]
    for (const slot of slots) {
      for (const task of slot.inFlight.values()) task.reject(closing)
      slot.inFlight.clear()
    }
    this.rejectFirstReady(closing)
    await Promise.all(slots.map(async (slot) => await slot.worker.terminate()))
    this.slots.clear()
  }

  private spawn (): void {
    const workerData: WorkerOptions = { nice: this.opts.nice, crashOn: this.options.crashOn }
    const worker = new Worker(this.workerUrl, {
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapLimitMb }
    })
    if (!this.referenced) worker.unref()
    const slot: Slot = { worker, ready: false, retiring: false, known: new Set(), inFlight: new Map(), done: 0 }
    this.slots.add(slot)
    worker.on('message', (message: WorkerMessage) => this.onMessage(slot, message))
    worker.on('error', (err) => this.onExit(slot, err))
    worker.on('exit', (code) => this.onExit(slot, new Error(`validator worker exited with code ${code}`)))
  }

  private onMessage (slot: Slot, message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true
        this.startupFailures = 0
        this.resolveFirstReady()
        this.dispatch()
        return
      case 'startup-failed':
        this.startupError = message.error
        return
      case 'result': {
        const task = slot.inFlight.get(message.id)
        if (task === undefined) return
        slot.inFlight.delete(message.id)
        slot.done++
        this.counters.validated++
        if (message.ok) task.resolve(task.logout === undefined ? reviveAssertion(message.value as ValidatedAssertion) : message.value)
        else task.reject(deserializeError(message.error))
        if (!slot.retiring && (slot.done >= this.opts.maxValidations || message.heapBytes > this.opts.maxHeapMb * 1024 * 1024)) {
          this.retire(slot, { validations: slot.done, heapMb: Math.round(message.heapBytes / 1024 / 1024) })
        }
        if (slot.retiring && slot.inFlight.size === 0) slot.worker.terminate().catch(() => {})
        this.dispatch()
      }
    }
  }

  /** Replaced by a fresh worker first; it goes once its tasks are answered. */
  private retire (slot: Slot, why: object): void {
    slot.retiring = true
    this.counters.recycled++
    this.options.log?.warn({ ...why, threadId: slot.worker.threadId }, 'validator worker recycled')
    if (!this.closed) this.spawn()
  }

  private onExit (slot: Slot, cause: Error): void {
    if (!this.slots.delete(slot)) return
    if (this.closed) return
    const expected = slot.retiring && slot.inFlight.size === 0
    if (!expected) {
      this.counters.crashed++
      this.options.log?.error({ err: cause, threadId: slot.worker.threadId, inFlight: slot.inFlight.size }, 'validator worker died')
    }
    // What it held goes back to the front of the queue. The task it was running (the first sent:
    // it runs them in order) is blamed; one that kills a second worker is the message's fault.
    const orphans = [...slot.inFlight.values()]
    slot.inFlight.clear()
    if (orphans.length > 0) orphans[0].crashes++
    for (const task of orphans.reverse()) {
      if (task.crashes > RETRIES) task.reject(new errors.SamlMalformed('the message could not be validated'))
      else this.queue.unshift(task)
    }
    if (!slot.ready) {
      this.startupFailures++
      if (this.startupFailures >= MAX_STARTUP_FAILURES) return this.fail(cause)
    }
    if (!slot.retiring) this.spawn()
    this.dispatch()
  }

  /** Workers cannot start (no schemas, no worker file): nothing will ever be validated. */
  private fail (cause: Error): void {
    const err = new Error(`validator workers cannot start: ${this.startupError?.message ?? cause.message} ` +
      '(GATEWAY_VALIDATION_WORKERS=0 validates on the event loop instead)', { cause })
    this.options.log?.error({ err }, 'validator pool failed')
    this.closed = true
    this.rejectFirstReady(err)
    for (const task of this.queue.splice(0)) task.reject(err)
    for (const slot of this.slots) slot.worker.terminate().catch(() => {})
  }

  private dispatch (): void {
    while (this.queue.length > 0) {
      const slot = this.leastBusy()
      if (slot === undefined) return
      const task = this.queue.shift() as Task
      slot.inFlight.set(task.id, task)
      const message: ValidationTask = { id: task.id, samlResponse: task.samlResponse, logout: task.logout, nowMs: task.nowMs, expId: task.expId }
      if (!slot.known.has(task.expId)) {
        message.exp = task.exp
        slot.known.add(task.expId)
      }
      slot.worker.postMessage(message)
    }
  }

  private leastBusy (): Slot | undefined {
    let best: Slot | undefined
    for (const slot of this.slots) {
      if (!slot.ready || slot.retiring || slot.inFlight.size >= this.opts.perWorker) continue
      if (best === undefined || slot.inFlight.size < best.inFlight.size) best = slot
    }
    return best
  }
}
