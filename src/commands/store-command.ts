// What the commands working on the store every gateway shares (sessions, rotate-identity-key) have
// in common: the configuration loaded as `serve` loads it, a refusal of the memory store, which
// lives inside each gateway process where no other process can reach it, and the store itself,
// whose failure is 69 (EX_UNAVAILABLE) with one line saying why.
import type { Dispatcher } from 'undici'
import { ConfigError, loadConfig, type Config, type LoadConfigOptions } from '../config/index.js'
import { createStore } from '../session/create-store.js'
import { guardStore } from '../session/store-guard.js'
import type { GatewayStore } from '../session/store.js'

export interface CommandIo extends LoadConfigOptions {
  out: (text: string) => void
  err: (text: string) => void
  /** The clock, epoch ms (tests fix it); default the real one. */
  clock?: () => number
  dispatcher?: Dispatcher
}

/** The configuration, or 78 (EX_CONFIG) once every problem with it is printed. */
export function loadConfigOrExit (io: CommandIo): Config | number {
  try {
    return loadConfig(io)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.err(`saml-gateway: ${err.message}\n`)
    return 78
  }
}

/** 64 (EX_USAGE) once `command` has said why the memory store leaves it `nothingToDo`; else undefined. */
export function refuseMemoryStore (config: Config, io: CommandIo, command: string, nothingToDo: string): number | undefined {
  if (config.session.store !== 'memory') return undefined
  io.err(`saml-gateway ${command}: the memory store lives inside each gateway process; ${nothingToDo}\n`)
  return 64
}

/**
 * `run` on the configured store, closed afterwards. A failure of the store, opening it or on the
 * way, is said in one line and answered 69 (EX_UNAVAILABLE); anything else `run` throws is its own.
 */
export async function withStore (config: Config, io: CommandIo, command: string, run: (store: GatewayStore) => Promise<number>): Promise<number> {
  let cause: unknown
  let store: GatewayStore | undefined
  try {
    store = guardStore(createStore(config.session.store, { dataDir: config.dataDir, redis: config.session.redis, now: io.clock }), (err) => { cause = err })
    return await run(store)
  } catch (err) {
    if (store !== undefined && (err as { code?: string }).code !== 'STORE_UNAVAILABLE') throw err
    io.err(`saml-gateway ${command}: ${storeProblem(config, cause ?? err)}\n`)
    return 69
  } finally {
    await store?.close().catch(() => {})
  }
}

/** What an operator reads when the store fails: the variable to look at, the error, what to do. */
export function storeProblem (config: Config, err: unknown): string {
  const { store, redis } = config.session
  const variable = store !== 'redis' ? 'GATEWAY_DATA_DIR' : redis.sentinels !== undefined ? 'GATEWAY_REDIS_SENTINELS' : 'GATEWAY_REDIS_URL'
  return `${variable}: the ${store} session store is unreachable (${(err as Error).message}). ` +
    `Fix: ${store === 'redis' ? 'start Redis or correct the URL' : 'make the directory writable by the gateway user'}`
}
