// How the Redis store connects: one node (GATEWAY_REDIS_URL) or the primary that Redis Sentinel
// names (GATEWAY_REDIS_SENTINELS + GATEWAY_REDIS_SENTINEL_NAME), and in both cases so that a down
// or failing-over Redis fails fast (no offline queue, one retry, short timeouts) while the client
// reconnects in the background, so requests get a 503 at once and service resumes by itself.
import type { Redis, RedisOptions } from 'ioredis'

export interface RedisTarget {
  /** redis:// or rediss:// URL of one node; with sentinels, only its credentials, db and TLS are used. */
  url?: string
  /** Sentinels to ask for the primary; with them, `sentinelName` is required. */
  sentinels?: ReadonlyArray<{ host: string, port: number }>
  sentinelName?: string
  /** AUTH to the sentinels themselves (requirepass in sentinel.conf). */
  sentinelPassword?: string
}

/** The connection options that make a down Redis fail fast and come back by itself. */
export function failFastOptions (connectTimeoutMs = 500, commandTimeoutMs = 2000): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    // A primary demoted by a failover answers writes with READONLY: reconnect, and Sentinel (or
    // DNS) names the new one. The command itself fails (503): it is not sent twice.
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY')
  }
}

/** ioredis options for the target; `undefined` url and no sentinels is a caller's bug. */
export function redisOptions (target: RedisTarget, connectTimeoutMs?: number, commandTimeoutMs?: number): RedisOptions {
  const base = failFastOptions(connectTimeoutMs, commandTimeoutMs)
  if (target.sentinels === undefined || target.sentinels.length === 0) {
    if (target.url === undefined) throw new Error('the redis session store needs a Redis URL or sentinels')
    return base
  }
  if (target.sentinelName === undefined) throw new Error('Redis Sentinel needs the name of the primary (GATEWAY_REDIS_SENTINEL_NAME)')
  const url = target.url !== undefined ? new URL(target.url) : undefined
  const tls = url?.protocol === 'rediss:'
  const db = url !== undefined && url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    ...base,
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.sentinelName,
    username: url?.username !== '' ? decodeURIComponent(url?.username ?? '') || undefined : undefined,
    password: url?.password !== '' && url?.password !== undefined ? decodeURIComponent(url.password) : undefined,
    db,
    sentinelPassword: target.sentinelPassword,
    ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    // Sentinels that do not answer are retried as the data connection is, not forever at once.
    sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    sentinelCommandTimeout: connectTimeoutMs ?? 500
  }
}

/** "host:port,host:port" → the list ioredis takes; problems (with the variable's name) into `problems`. */
export function parseSentinels (name: string, value: string, problems: string[]): Array<{ host: string, port: number }> {
  const sentinels: Array<{ host: string, port: number }> = []
  for (const part of value.split(',').map(s => s.trim()).filter(Boolean)) {
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(part)
    const port = Number(match?.[2])
    if (match === null || port < 1 || port > 65535) {
      problems.push(`${name} must be host:port pairs, comma-separated (got ${JSON.stringify(part)})`)
      continue
    }
    sentinels.push({ host: match[1], port })
  }
  if (sentinels.length === 0 && problems.length === 0) problems.push(`${name} names no sentinel`)
  return sentinels
}

const connecting = new WeakMap<Redis, Promise<void>>()

/**
 * While a connection attempt is under way, wait for it (at most `withinMs`) instead of failing:
 * without an offline queue, a command sent right after start would be refused. When Redis is
 * ready, or known to be down, the command goes at once and answers for itself.
 */
export async function whenConnected (client: Redis, withinMs: number): Promise<void> {
  const status = client.status
  if (status !== 'connecting' && status !== 'connect') return
  let pending = connecting.get(client)
  if (pending === undefined) {
    pending = new Promise<void>(resolve => {
      const settle = (): void => {
        clearTimeout(timer)
        for (const event of ['ready', 'close', 'end']) client.off(event, settle)
        connecting.delete(client)
        resolve()
      }
      const timer = setTimeout(settle, withinMs)
      for (const event of ['ready', 'close', 'end']) client.once(event, settle)
    })
    connecting.set(client, pending)
  }
  await pending
}
