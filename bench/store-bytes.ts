// Bytes per session in each store, read after a storm.
import { existsSync, statSync } from 'node:fs'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'

/** Bytes per session in the SQLite file: dbstat per table and index, and the file size / sessions. */
export function sqliteBytes (file: string): Record<string, number> {
  const db = new Database(file, { readonly: true })
  try {
    const sessions = (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n
    const replay = (db.prepare('SELECT count(*) AS n FROM replay').get() as { n: number }).n
    const pages = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as Array<{ name: string, bytes: number }>
    const bytes = (names: string[]): number => pages.filter((p) => names.includes(p.name)).reduce((a, p) => a + p.bytes, 0)
    const sessionTables = ['sessions', 'sqlite_autoindex_sessions_1', 'sessions_by_name_id', 'sessions_by_expiry']
    const replayTables = ['replay', 'sqlite_autoindex_replay_1', 'replay_by_expiry']
    const fileBytes = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0)
    return {
      sessions,
      sessionRowAndIndexes: Math.round(bytes(sessionTables) / sessions),
      replayEntry: Math.round(bytes(replayTables) / Math.max(1, replay)),
      fileAndWalPerSession: Math.round(fileBytes / sessions)
    }
  } finally {
    db.close()
  }
}

/** MEMORY USAGE of one session key and its two index sets, its replay key, and used_memory / sessions. */
export async function redisBytes (url: string): Promise<Record<string, number>> {
  const redis = new Redis(url)
  try {
    const [, keys] = await redis.scan('0', 'MATCH', 'saml-gateway:sess:*', 'COUNT', 1000)
    const sessions = (await redis.keys('saml-gateway:sess:*')).length
    const sid = keys[0]
    const data = JSON.parse(await redis.get(sid) as string) as { user: { nameId: string, sessionIndex?: string } }
    const nameId = encodeURIComponent(data.user.nameId)
    const usage = async (key: string): Promise<number> => Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') ?? 0)
    const index = await usage(`saml-gateway:nameid:${nameId}`) +
      (data.user.sessionIndex === undefined ? 0 : await usage(`saml-gateway:sessionindex:${nameId}:${encodeURIComponent(data.user.sessionIndex)}`))
    const [, replayKeys] = await redis.scan('0', 'MATCH', 'saml-gateway:replay:*', 'COUNT', 1000)
    const info = await redis.info('memory')
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1])
    const dataset = Number(/used_memory_dataset:(\d+)/.exec(info)?.[1])
    return {
      sessions,
      sessionKey: await usage(sid),
      indexKeys: index,
      sessionKeyAndIndex: await usage(sid) + index,
      replayKey: replayKeys.length > 0 ? await usage(replayKeys[0]) : 0,
      usedMemoryPerSession: Math.round(used / sessions),
      datasetPerSession: Math.round(dataset / sessions)
    }
  } finally {
    redis.disconnect()
  }
}
