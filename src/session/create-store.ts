// Picks the store backend named in the configuration: the one place that knows every backend.
// A backend is one file (store-<name>.ts, implementing GatewayStore) and one line in BACKENDS;
// GATEWAY_SESSION_STORE accepts the names of BACKENDS.
import { join } from 'node:path'
import { MemoryStore } from './store-memory.js'
import { RedisStore, type StoreLogger } from './store-redis.js'
import { SqliteStore } from './store-sqlite.js'
import type { GatewayStore } from './store.js'
import { ensurePrivateDir } from './file-modes.js'
import type { RedisTarget } from './redis-connection.js'

export interface CreateStoreOptions {
  /** Where the SQLite file lives (`sessions.sqlite`); created when missing. */
  dataDir: string
  /** For `redis`: redis:// or rediss:// (TLS). */
  redisUrl?: string
  /** For `redis` with Sentinel (wins over redisUrl, whose credentials it may carry). */
  redis?: RedisTarget
  now?: () => number
  logger?: StoreLogger
}

const BACKENDS = {
  sqlite: (opts: CreateStoreOptions) => new SqliteStore({ path: join(createdDir(opts.dataDir), 'sessions.sqlite'), now: opts.now }),
  redis: (opts: CreateStoreOptions) => new RedisStore(redisTarget(opts), { now: opts.now, logger: opts.logger }),
  memory: (opts: CreateStoreOptions) => new MemoryStore({ now: opts.now })
} satisfies Record<string, (opts: CreateStoreOptions) => GatewayStore>

export type StoreKind = keyof typeof BACKENDS

/** Every backend's name, the default (sqlite) first. */
export const STORE_KINDS = Object.keys(BACKENDS) as StoreKind[]

export function createStore (kind: StoreKind, opts: CreateStoreOptions): GatewayStore {
  if (!Object.hasOwn(BACKENDS, kind)) throw new Error(`unknown session store kind: ${String(kind)}`)
  return BACKENDS[kind](opts)
}

/** The data dir, created when missing and private (0700) whatever the umask. */
function createdDir (dir: string): string {
  ensurePrivateDir(dir)
  return dir
}

function redisTarget (opts: CreateStoreOptions): RedisTarget {
  if ((opts.redis?.sentinels?.length ?? 0) > 0) return opts.redis as RedisTarget
  const url = opts.redis?.url ?? opts.redisUrl
  if (url === undefined || url === '') throw new Error('the redis session store needs a Redis URL or sentinels')
  return { url }
}
