// The Redis store's scripts and multi-key helpers, apart from the store so that each stays short.
import { Redis } from 'ioredis'
import { sessionMatches, type SessionData, type SessionFilter, type StoredSession } from './store.js'
import { redisOptions, type RedisTarget } from './redis-connection.js'

/** Raise a key's TTL to ARGV[1] ms unless it already lives longer. */
export const RAISE_TTL = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 and ttl >= tonumber(ARGV[1]) then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[1])`

/**
 * KEYS[1] the entry, KEYS[2] its kind's index. ARGV: value, ttl ms, now ms, max, id, entry key
 * prefix. Answers how many live entries were evicted.
 */
export const BOUNDED_PUT = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[5])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4]) + 1
local evicted = 0
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess - 1)) do
    evicted = evicted + redis.call('DEL', ARGV[6] .. id)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[2]), ARGV[5])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return evicted`

/** KEYS[1]; ARGV: 1 if a value is expected (else absent), the expected value, the new one. */
export const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
return 1`

export function connect (target: RedisTarget, connectTimeoutMs: number, commandTimeoutMs?: number): Redis {
  const options = redisOptions(target, connectTimeoutMs, commandTimeoutMs)
  return options.sentinels !== undefined ? new Redis(options) : new Redis(target.url as string, options)
}

export async function scanAll (redis: Redis, match: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** The sessions behind `sids` that are alive and match, with their expiry, soonest first. */
export async function listed (redis: Redis, sids: string[], keyOf: (sid: string) => string, now: number, filter: SessionFilter): Promise<StoredSession[]> {
  if (sids.length === 0) return []
  const tx = redis.pipeline()
  for (const sid of sids) tx.get(keyOf(sid)).pttl(keyOf(sid))
  const replies = await execAll(tx as unknown as ReturnType<Redis['multi']>)
  const found: StoredSession[] = []
  sids.forEach((sid, i) => {
    const ttl = Number(replies[2 * i + 1])
    const user = parseSession(replies[2 * i] as string | null)?.user
    if (replies[2 * i] !== null && ttl > 0 && sessionMatches(user, filter)) found.push({ sid, user, expiresAt: now + ttl })
  })
  return found.sort((a, b) => a.expiresAt - b.expiresAt || a.sid.localeCompare(b.sid))
}

export async function execAll (tx: ReturnType<Redis['multi']>): Promise<unknown[]> {
  const replies = await tx.exec()
  if (replies === null) throw new Error('redis transaction aborted')
  return replies.map(([err, reply]) => {
    if (err !== null) throw err
    return reply
  })
}

export function parseSession (json: string | null): SessionData | null {
  return json === null ? null : JSON.parse(json) as SessionData
}
