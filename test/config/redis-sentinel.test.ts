// GATEWAY_REDIS_SENTINELS and friends: read into the target ioredis connects to, every mistake
// named with its variable, and the URL's credentials and TLS carried over to Sentinel mode.
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { redisOptions } from '../../src/session/redis-connection.js'
import { baseEnv, tempDir } from '../helpers/app.js'

const load = (env: Record<string, string>, cwd: string) => loadConfig({ env: baseEnv({ GATEWAY_SESSION_STORE: 'redis', ...env }), cwd })
const problems = (env: Record<string, string>, cwd: string): string => {
  try {
    load(env, cwd)
    return ''
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n')
    throw err
  }
}

t.test('sentinels, the primary name and the passwords', async (t) => {
  const config = load({
    GATEWAY_REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379,[::1]:26380',
    GATEWAY_REDIS_SENTINEL_NAME: 'gateway',
    GATEWAY_REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    GATEWAY_REDIS_URL: 'rediss://gw:data%20secret@ignored:6379/2'
  }, tempDir(t))
  t.same(config.session.redis.sentinels, [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }, { host: '::1', port: 26380 }])
  const options = redisOptions(config.session.redis)
  t.equal(options.name, 'gateway')
  t.equal(options.username, 'gw')
  t.equal(options.password, 'data secret')
  t.equal(options.db, 2)
  t.equal(options.sentinelPassword, 'sentinel-secret')
  t.ok(options.enableTLSForSentinelMode, 'rediss: TLS to the sentinels and the nodes')
  t.equal(options.enableOfflineQueue, false, 'fails fast while failing over')
})

t.test('every mistake named', async (t) => {
  t.match(problems({ GATEWAY_REDIS_SENTINELS: '10.0.0.1:26379' }, tempDir(t)), /GATEWAY_REDIS_SENTINEL_NAME is required with GATEWAY_REDIS_SENTINELS/)
  t.match(problems({ GATEWAY_REDIS_SENTINELS: '10.0.0.1', GATEWAY_REDIS_SENTINEL_NAME: 'x' }, tempDir(t)), /GATEWAY_REDIS_SENTINELS must be host:port pairs, comma-separated \(got "10\.0\.0\.1"\)/)
  t.match(problems({ GATEWAY_REDIS_URL: 'redis://127.0.0.1:6379', GATEWAY_REDIS_SENTINEL_NAME: 'x' }, tempDir(t)), /GATEWAY_REDIS_SENTINEL_NAME is set but GATEWAY_REDIS_SENTINELS is not/)
  t.equal(problems({ GATEWAY_REDIS_SENTINELS: '10.0.0.1:26379', GATEWAY_REDIS_SENTINEL_NAME: 'x' }, tempDir(t)), '', 'no URL needed with sentinels')
})
