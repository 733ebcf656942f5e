// Picks the store backend named in the configuration: the one place that knows every backend.
// A backend is one file (store-<name>.ts, implementing GatewayStore) and one line in BACKENDS;
// GATEWAY_SESSION_STORE accepts the names of BACKENDS.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MemoryStore } from './store-memory.js'
import { RedisStore, type StoreLogger } from './store-redis.js'
import { SqliteStore } from './store-sqlite.js'
import type { GatewayStore } from './store.js'

export interface CreateStoreOptions {
  /** Where the SQLite file lives (`sessions.sqlite`); created when missing. */
  dataDir: string
  /** Required for `redis`: redis:// or rediss:// (TLS). */
  redisUrl?: string
  now?: () => number
  logger?: StoreLogger
}

const BACKENDS = {
  sqlite: (opts: CreateStoreOptions) => new SqliteStore({ path: join(createdDir(opts.dataDir), 'sessions.sqlite'), now: opts.now }),
  redis: (opts: CreateStoreOptions) => new RedisStore(required(opts.redisUrl, 'the redis session store needs a Redis URL'), { now: opts.now, logger: opts.logger }),
  memory: (opts: CreateStoreOptions) => new MemoryStore({ now: opts.now })
} satisfies Record<string, (opts: CreateStoreOptions) => GatewayStore>

export type StoreKind = keyof typeof BACKENDS

/** Every backend's name, the default (sqlite) first. */
export const STORE_KINDS = Object.keys(BACKENDS) as StoreKind[]

export function createStore (kind: StoreKind, opts: CreateStoreOptions): GatewayStore {
  if (!Object.hasOwn(BACKENDS, kind)) throw new Error(`unknown session store kind: ${String(kind)}`)
  return BACKENDS[kind](opts)
}

function createdDir (dir: string): string {
  mkdirSync(dir, { recursive: true })
  return dir
}

function required (value: string | undefined, message: string): string {
  if (value === undefined || value === '') throw new Error(message)
  return value
}
