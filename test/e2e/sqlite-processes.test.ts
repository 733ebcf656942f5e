// Three gateway processes on one SQLite file (one data dir, WAL), as one big server runs them to
// use all its cores without Redis: they behave as one gateway. A response posted 50 times at once
// across the three is accepted exactly once; 50 different responses to one AuthnRequest: one;
// a session made on one is live on the others, and a logout on one ends it on all.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { tempDir } from '../helpers/app.js'
import { buildResponse } from '../helpers/idp.js'
import { authnRequestOf } from '../helpers/login.js'
import { startUpstream } from '../helpers/upstream.js'
import { freePort } from './_nginx.js'
import { startGatewayProcess, type GatewayProcess } from './_gateway-process.js'

// Three Node processes start through the TypeScript loader: slow on a busy machine.
t.setTimeout(360_000)
const ISSUER = 'https://motion.example.com/api/auth/saml'
const jwks = { keys: [] as unknown[] }
const upstream = await startUpstream({ issuer: ISSUER, jwks: () => jwks, now: Date.now })
t.teardown(() => upstream.close())
const dataDir = tempDir(t)
const gateways: GatewayProcess[] = []
t.teardown(() => Promise.all(gateways.map((g) => g.stop('SIGKILL'))))
const ports = [await freePort(), await freePort(), await freePort()]
gateways.push(...await Promise.all(ports.map(async (port) => await startGatewayProcess({
  port,
  env: { GATEWAY_SESSION_STORE: 'sqlite', GATEWAY_DATA_DIR: dataDir, GATEWAY_UPSTREAM_LOGIN_URL: upstream.url, GATEWAY_RATE_LIMIT: '0' }
}))))

type Jar = Record<string, string>
async function send (g: GatewayProcess, path: string, opts: { jar?: Jar, form?: Record<string, string> } = {}) {
  const res = await request(`${g.url}/api/auth/saml${path}`, {
    method: opts.form !== undefined ? 'POST' : 'GET',
    headers: {
      'x-forwarded-proto': 'https',
      accept: 'application/json',
      cookie: Object.entries(opts.jar ?? {}).map(([k, v]) => `${k}=${v}`).join('; '),
      ...(opts.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {})
    },
    body: opts.form !== undefined ? new URLSearchParams(opts.form).toString() : undefined
  })
  const body = await res.body.text()
  const setCookie = res.headers['set-cookie']
  for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const [pair] = line.split(';')
    const at = pair.indexOf('=')
    if (opts.jar !== undefined) opts.jar[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return { status: res.statusCode, location: res.headers.location as string | undefined, error: body.startsWith('{') ? (JSON.parse(body) as { error?: string }).error : undefined }
}

// In a subtest, so that the root test cannot end between the requests; the ones below run after it.
t.test('one identity key for the three', async (t) => {
  jwks.keys = (await (await request(`${gateways[0].url}/api/auth/saml/jwks.json`)).body.json() as { keys: unknown[] }).keys
  t.ok(jwks.keys.length > 0, 'the first publishes a key')
  for (const g of gateways.slice(1)) {
    t.same((await (await request(`${g.url}/api/auth/saml/jwks.json`)).body.json() as { keys: unknown[] }).keys, jwks.keys, 'the same keys on the others')
  }
})

const summary = (results: Array<{ status: number, error?: string }>) => {
  const counts: Record<string, number> = {}
  for (const r of results) counts[`${r.status} ${r.error ?? ''}`.trim()] = (counts[`${r.status} ${r.error ?? ''}`.trim()] ?? 0) + 1
  return counts
}

t.test('the 50-way replay race across three processes: exactly one acceptance', async (t) => {
  const samlResponse = buildResponse({ inResponseTo: null, now: Date.now() })
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(gateways[i % 3], '/callback', { jar: {}, form: { SAMLResponse: samlResponse } })))
  t.same(summary(results), { 302: 1, '400 SAML_REPLAY': 49 })
})

t.test('50 responses to one AuthnRequest across three processes: its ID is consumed once', async (t) => {
  const browser: Jar = {}
  const start = await send(gateways[0], '/?returnTo=/queue', { jar: browser })
  t.equal(start.status, 302)
  const { id } = authnRequestOf(start.location as string)
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(gateways[i % 3], '/callback', {
    jar: { ...browser },
    form: { SAMLResponse: buildResponse({ inResponseTo: id, now: Date.now(), assertionId: `_a${randomBytes(8).toString('hex')}`, responseId: `_r${randomBytes(8).toString('hex')}` }) }
  })))
  t.same(summary(results), { 302: 1, '400 SAML_IN_RESPONSE_TO': 49 })
})

t.test('a session made on one process is live on the others; a logout on one ends it on all', async (t) => {
  const browser: Jar = {}
  const start = await send(gateways[0], '/?returnTo=/queue', { jar: browser })
  const acs = await send(gateways[1], '/callback', { jar: browser, form: { SAMLResponse: buildResponse({ inResponseTo: authnRequestOf(start.location as string).id, now: Date.now() }) } })
  t.equal(acs.status, 302, 'started on the first, finished on the second')
  for (const g of gateways) t.equal((await send(g, '/session', { jar: browser })).status, 200, `live on :${g.port}`)
  t.equal((await send(gateways[2], '/logout', { jar: browser })).status, 302)
  for (const g of gateways) t.equal((await send(g, '/session', { jar: browser })).status, 401, `gone on :${g.port}`)
})

t.test('SIGTERM: exit 0', async (t) => {
  t.same(await gateways[2].stop('SIGTERM'), { code: 0, signal: null })
})
