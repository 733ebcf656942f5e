// Picks the store backend named in the configuration. The only place that knows all three.
import { join } from 'node:path'
import { MemoryStore } from './store-memory.js'
import { RedisStore, type StoreLogger } from './store-redis.js'
import { SqliteStore } from './store-sqlite.js'
import type { GatewayStore } from './store.js'
import { ensurePrivateDir } from './file-modes.js'

export type StoreKind = 'sqlite' | 'redis' | 'memory'

export interface CreateStoreOptions {
  /** Where the SQLite file lives (`sessions.sqlite`); created when missing. */
  dataDir: string
  /** Required for `redis`: redis:// or rediss:// (TLS). */
  redisUrl?: string
  now?: () => number
  logger?: StoreLogger
}

export function createStore (kind: StoreKind, opts: CreateStoreOptions): GatewayStore {
  switch (kind) {
    case 'memory':
      return new MemoryStore({ now: opts.now })
    case 'sqlite':
      ensurePrivateDir(opts.dataDir)
      return new SqliteStore({ path: join(opts.dataDir, 'sessions.sqlite'), now: opts.now })
    case 'redis':
      if (opts.redisUrl === undefined || opts.redisUrl === '') {
        throw new Error('the redis session store needs a Redis URL')
      }
      return new RedisStore(opts.redisUrl, { now: opts.now, logger: opts.logger })
    default:
      throw new Error(`unknown session store kind: ${String(kind)}`)
  }
}
