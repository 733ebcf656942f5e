// A rolling restart behind the real nginx with the files of deploy/nginx (its upstream naming both
// gateways, its retry of what was not sent and of idempotent requests): two gateway processes on
// one SQLite file; a login storm runs while each in turn gets SIGTERM, exits 0 and starts again.
// No login fails: not even one whose connection was still queued at the listener when it closed
// (reset: nginx passes it on, a POST too).
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { tempDir } from '../helpers/app.js'
import { buildResponse } from '../helpers/idp.js'
import { authnRequestOf } from '../helpers/login.js'
import { startUpstream } from '../helpers/upstream.js'
import { freePort, makeCertificate, NGINX, startNginx, type SiteValues } from './_nginx.js'
import { startGatewayProcess, type GatewayProcess } from './_gateway-process.js'

if (!existsSync(NGINX)) {
  if (process.env.CI !== undefined) throw new Error(`${NGINX} is missing: apt-get install -y nginx`)
  t.plan(0, `skipped: ${NGINX} is missing (apt-get install -y nginx)`)
  process.exit(0)
}
// Gateway processes start through the TypeScript loader: slow on a busy machine.
t.setTimeout(600_000)

const dir = tempDir(t)
const ISSUER = 'https://motion.example.com/api/auth/saml'
const jwks = { keys: [] as unknown[] }
const upstream = await startUpstream({ issuer: ISSUER, jwks: () => jwks, now: Date.now })
t.teardown(() => upstream.close())
const dataDir = join(dir, 'data')
const ports = [await freePort(), await freePort()]
const gateways: GatewayProcess[] = await Promise.all(ports.map(async (port) => await startGatewayProcess({
  port,
  env: { GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: dataDir, GATEWAY_UPSTREAM_LOGIN_URL: upstream.url, GATEWAY_RATE_LIMIT: '0' }
})))
t.teardown(() => Promise.all(gateways.map((g) => g.stop('SIGKILL'))))
jwks.keys = (await (await request(`${gateways[0].url}/api/auth/saml/jwks.json`)).body.json() as { keys: unknown[] }).keys

const cert = await makeCertificate(dir)
const values: SiteValues = { host: '127.0.0.1', httpsPort: await freePort(), httpPort: await freePort(), gateway: ports.map((p) => `127.0.0.1:${p}`), motion: `127.0.0.1:${await freePort()}`, ...cert }
const nginx = await startNginx({ dir: join(dir, 'nginx'), site: values })
t.teardown(() => nginx.close())
const tls = new Agent({ connect: { rejectUnauthorized: false } })
t.teardown(() => tls.close())

/** One whole login through nginx: start (AuthnRequest + binding cookie), then the IdP's POST. */
async function login (i: number): Promise<string> {
  const start = await request(`${nginx.origin}/api/auth/saml?returnTo=/queue/${i}`, { dispatcher: tls })
  await start.body.dump()
  if (start.statusCode !== 302) return `start ${start.statusCode}`
  const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ')
  const { id } = authnRequestOf(start.headers.location as string)
  const acs = await request(`${nginx.origin}/api/auth/saml/callback`, {
    method: 'POST',
    dispatcher: tls,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ SAMLResponse: buildResponse({ inResponseTo: id, now: Date.now() }) }).toString()
  })
  const body = await acs.body.text()
  return acs.statusCode === 302 && acs.headers.location === '/welcome' ? 'ok' : `callback ${acs.statusCode} ${body.slice(0, 120)}`
}

t.test('SIGTERM one instance, then the other, during a login storm: no login fails', async (t) => {
  const outcomes: string[] = []
  const storm$ = { on: true }
  const worker = async (w: number) => {
    for (let i = 0; storm$.on; i++) outcomes.push(await login(w * 100_000 + i).catch((err: Error) => `error ${err.message}`))
  }
  const storm = Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)))
  const exits: Array<{ code: number | null, signal: string | null }> = []
  const okSoFar = () => outcomes.filter((o) => o === 'ok').length
  const waitForLogins = async (n: number) => { const target = okSoFar() + n; while (okSoFar() < target && storm$.on) await new Promise((resolve) => setTimeout(resolve, 50)) }

  /** As an operator does: the next instance stops only once nginx sends logins to this one again (after fail_timeout). */
  const servedBy = (g: GatewayProcess, after: number) => nginx.access().slice(after).some((e) => e.upstream === `127.0.0.1:${g.port}` && e.status < 500)
  const waitUntilServing = async (g: GatewayProcess) => { const after = nginx.access().length; while (!servedBy(g, after) && storm$.on) await new Promise((resolve) => setTimeout(resolve, 100)) }
  await waitForLogins(10)
  for (const g of gateways) {
    exits.push(await g.stop('SIGTERM'))
    await waitForLogins(10) // the other instance alone
    await g.restart()
    await waitUntilServing(g)
    await waitForLogins(10)
  }
  storm$.on = false
  await storm

  const failed = outcomes.filter((o) => o !== 'ok')
  t.same(exits, [{ code: 0, signal: null }, { code: 0, signal: null }], 'each instance exited 0 on SIGTERM')
  t.ok(outcomes.length >= 60, `${outcomes.length} logins during the restarts`)
  t.same(failed, [], 'no login failed')
  if (failed.length > 0) t.comment(nginx.errorLog().split('\n').filter((l) => !l.includes('Connection refused')).slice(0, 8).join('\n'))
  const served = new Set(nginx.access().filter((e) => e.uri.startsWith('/api/auth/saml')).flatMap((e) => e.upstream.split(', ')))
  t.ok(ports.every((p) => served.has(`127.0.0.1:${p}`)), 'both instances served logins')
  const retried = nginx.access().filter((e) => e.upstream.includes(','))
  t.comment(`logins: ${outcomes.length}, failed: ${failed.length}; nginx passed ${retried.length} request(s) on to the other instance (${retried.filter((e) => e.method === 'POST').length} POST)`)
})
