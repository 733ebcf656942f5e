// Where state lives: the data directory, the session store and its TTL, the secrets that sign
// session cookies and identity headers.
import { resolve } from 'node:path'
import { STORE_KINDS, type StoreKind } from '../session/create-store.js'
import { str, text, type EnvOf, type ReadContext } from './env.js'
import { duration } from './values.js'
import { parseSentinels, type RedisTarget } from '../session/redis-connection.js'

export const sessionSchema = {
  GATEWAY_DATA_DIR: { type: 'string', default: './data' },
  GATEWAY_SESSION_STORE: { type: 'string', enum: STORE_KINDS, default: 'sqlite' },
  GATEWAY_REDIS_URL: str,
  GATEWAY_REDIS_SENTINELS: str,
  GATEWAY_REDIS_SENTINEL_NAME: str,
  GATEWAY_REDIS_SENTINEL_PASSWORD: str,
  GATEWAY_SESSION_TTL: { type: 'string', default: '8h' },
  GATEWAY_SESSION_SECRET: str,
  GATEWAY_IDENTITY_KEY: str,
  GATEWAY_IDENTITY_PREVIOUS_KEY: str,
  GATEWAY_IDENTITY_SECRET: str
} as const

export type { StoreKind }

export function readSession (env: EnvOf<typeof sessionSchema>, { problems, cwd }: ReadContext) {
  const store: StoreKind = env.GATEWAY_SESSION_STORE
  const redisUrl = text(env.GATEWAY_REDIS_URL)
  const redis = readRedisTarget(env, problems)
  if (store === 'redis' && redisUrl === undefined && redis.sentinels === undefined) {
    problems.push('GATEWAY_REDIS_URL is required when GATEWAY_SESSION_STORE=redis (or GATEWAY_REDIS_SENTINELS with GATEWAY_REDIS_SENTINEL_NAME)')
  }
  const secret = text(env.GATEWAY_SESSION_SECRET)
  if (secret !== undefined && secret.length < 32) {
    problems.push('GATEWAY_SESSION_SECRET must be at least 32 characters (or leave it unset: one is kept in the store, shared by every instance)')
  }
  const identitySecret = text(env.GATEWAY_IDENTITY_SECRET)
  if (identitySecret !== undefined && identitySecret.length < 32) problems.push('GATEWAY_IDENTITY_SECRET must be at least 32 characters')
  return {
    dataDir: resolve(cwd, env.GATEWAY_DATA_DIR),
    session: { store, redisUrl, redis, ttlMs: duration('GATEWAY_SESSION_TTL', env.GATEWAY_SESSION_TTL, problems), secret },
    identity: {
      keyFile: text(env.GATEWAY_IDENTITY_KEY),
      previousKeyFile: text(env.GATEWAY_IDENTITY_PREVIOUS_KEY),
      secret: identitySecret
    }
  }
}

/** One Redis (GATEWAY_REDIS_URL) or the primary Sentinel names; the URL then gives only credentials, db and TLS. */
function readRedisTarget (env: EnvOf<typeof sessionSchema>, problems: string[]): RedisTarget {
  const url = text(env.GATEWAY_REDIS_URL)
  const list = text(env.GATEWAY_REDIS_SENTINELS)
  const name = text(env.GATEWAY_REDIS_SENTINEL_NAME)
  if (list === undefined) {
    if (name !== undefined) problems.push('GATEWAY_REDIS_SENTINEL_NAME is set but GATEWAY_REDIS_SENTINELS is not')
    return { url }
  }
  if (name === undefined) problems.push('GATEWAY_REDIS_SENTINEL_NAME is required with GATEWAY_REDIS_SENTINELS: the name of the primary the sentinels monitor (sentinel monitor <name> …)')
  return { url, sentinels: parseSentinels('GATEWAY_REDIS_SENTINELS', list, problems), sentinelName: name, sentinelPassword: text(env.GATEWAY_REDIS_SENTINEL_PASSWORD) }
}
