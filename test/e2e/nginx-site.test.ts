// The nginx files of deploy/ on a real nginx, in front of recording stand-ins for two gateways and
// Motion: the Motion-like site with the snippet included, and the full site. What a client can
// reach (and under which spelling it cannot), which headers only nginx sets, auth_request, HSTS,
// WebSockets, and several gateways behind one upstream.
import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, makeCertificate, missingNginxTools, startNginx, type Nginx, type SiteKind } from './_nginx.js'
import { http2Statuses, rawRequest, rawUpgrade, startRecorder, type RawAnswer, type Recorder, type Seen } from './_raw-https.js'

const HOST = '127.0.0.1'
const HSTS = 'max-age=63072000; includeSubDomains'
/** Headers a client may send but only nginx may set. */
const FORGED = ['X-Original-Method: DELETE', 'X-Original-URI: /api/users/1', 'X-Gateway-Auth-Request: 1',
  'X-Gateway-Identity: forged', 'X_Gateway_Identity: forged', 'X-Forwarded-For: 203.0.113.66']
const CLEARED = ['x-original-method', 'x-original-uri', 'x-gateway-auth-request', 'x-gateway-identity', 'x_gateway_identity']

interface Site {
  nginx: Nginx
  seen: Seen[]
  gateways: Recorder[]
  motion: Recorder
  /** A request with a fresh X-Test-Id; `seenBy` lists the servers that received it. */
  send (method: string, target: string, extra?: string[], body?: string): Promise<RawAnswer & { id: string, seenBy: Seen[] }>
}

let sequence = 0

/** The gateway stand-in: /auth answers as the gateway does for nginx's subrequest (cookie "signed_in=1" is a session). */
const gatewayAnswer = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
  if ((req.url ?? '').startsWith('/api/auth/saml/auth')) {
    const ok = req.headers['x-gateway-auth-request'] === '1' && /(^|;\s*)signed_in=1/.test(req.headers.cookie ?? '')
    res.writeHead(ok ? 204 : 401, ok ? { 'x-gateway-identity': `identity for ${req.headers['x-original-method']} ${req.headers['x-original-uri']}` } : {})
    return res.end()
  }
  res.writeHead(200, { 'x-served-by': name })
  res.end(name)
}

async function startSite (t: Test, kind: SiteKind): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), `saml-gateway-nginx-${kind}-`))
  const seen: Seen[] = []
  const gateways = [await startRecorder('gateway-a', seen), await startRecorder('gateway-b', seen)]
  for (const g of gateways) g.answer = gatewayAnswer(g.name)
  const motion = await startRecorder('motion', seen)
  const nginxDir = join(dir, 'nginx')
  let nginx: Nginx | undefined
  t.teardown(async () => {
    await nginx?.close()
    for (const server of [...gateways, motion]) await server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  mkdirSync(nginxDir, { recursive: true })
  nginx = await startNginx({
    dir: nginxDir,
    kind,
    site: {
      host: HOST,
      httpsPort: await freePort(HOST),
      httpPort: await freePort(HOST),
      gateway: gateways.map((g) => g.address),
      motion: motion.address,
      ...await makeCertificate(nginxDir)
    }
  })
  const origin = nginx.origin
  return {
    nginx,
    seen,
    gateways,
    motion,
    async send (method, target, extra = [], body = '') {
      const id = String(++sequence)
      const answer = await rawRequest(origin, [`${method} ${target} HTTP/1.1`, `X-Test-Id: ${id}`, ...extra], body)
      return { ...answer, id, seenBy: seen.filter((s) => s.headers['x-test-id'] === id) }
    }
  }
}

const servers = (seenBy: Seen[]): string[] => seenBy.map((s) => s.server.replace(/-[ab]$/, ''))

/** The spellings of one closed path under the gateway's prefix: case, encoding, dot segments, suffixes. */
function gatewaySpellings (name: string): string[] {
  const hex = `%${name.charCodeAt(0).toString(16)}${name.slice(1)}`
  const capital = name[0].toUpperCase() + name.slice(1)
  return [
    `/api/auth/saml/${name}`, `/api/auth/saml/${name}/`, `/api/auth/saml/${name.toUpperCase()}`, `/api/auth/saml/${capital}`,
    `/API/AUTH/SAML/${name}`, `/Api/Auth/Saml/${capital}`, `/api/auth/saml%2F${name}`, `/api/auth/saml%2f${name}`,
    `/api%2Fauth%2Fsaml%2F${name}`, `/api/auth/saml/${name};`, `/api/auth/saml/${name};jsessionid=1`, `/api/auth/saml/${name}.json`,
    `/api/auth/saml/${name}%20`, `/api/auth/saml/${name}%20%20`, `/api/auth/saml/${name}%09`, `/api/auth/saml//${name}`,
    `/api/auth/saml/./${name}`, `/api/auth/saml/x/../${name}`, `/api/auth/saml/%2e/${name}`, `/api/auth/saml/${hex}`,
    `/api/auth/saml/${name}?format=json`, `/api/auth/saml/${name}%3Fformat=json`, `/api/auth/saml/${name}.`
  ]
}

const HANDOFF_SPELLINGS = [
  '/api/login/saml', '/api/login/saml/', '/api/login/saml/x', '/API/login/saml', '/api/LOGIN/saml', '/Api/Login/Saml',
  '/API/LOGIN/SAML', '/api%2Flogin%2Fsaml', '/api%2flogin%2fsaml', '/api/login%2Fsaml', '/api/login/saml;', '/api/login/saml;jsessionid=1',
  '/api/login/saml.json', '/API/login/saml.json', '/api/login/saml%20', '/api/login/saml%20%20', '/API/login/saml%20',
  '/api/login/saml%09', '/api//login//saml', '/api/./login/saml', '/api/x/../login/saml', '/api/login/%73aml', '/%61pi/login/saml',
  '/api/login/sam%4C', '/api/login/saml?x=1', '/api/login/saml%3Fx=1', '/api/login/saml.'
]

/** Motion's built-in SAML under another case: a case-insensitive router would serve it. */
const PREFIX_CASES = ['/API/auth/saml', '/API/auth/saml/callback', '/api/AUTH/saml/login', '/Api/Auth/Saml?returnTo=/', '/api/auth/SAML/metadata']

async function checkRoutes (t: Test, site: Site): Promise<void> {
  const routes: Array<[string, string, string]> = [
    ['GET', '/api/auth/saml?returnTo=/', 'gateway'], ['GET', '/api/auth/saml/login?returnTo=/', 'gateway'],
    ['POST', '/api/auth/saml/callback', 'gateway'], ['GET', '/api/auth/saml/metadata', 'gateway'],
    ['GET', '/api/auth/saml/jwks.json', 'gateway'], ['GET', '/api/auth/saml/logout/callback?SAMLRequest=x', 'gateway'],
    ['POST', '/api/auth/saml/profile', 'gateway'], ['GET', '/api/auth/saml/health', 'gateway'],
    ['GET', '/', 'motion'], ['GET', '/api/users/1', 'motion'], ['POST', '/api/login', 'motion'], ['GET', '/api/loginsaml', 'motion']
  ]
  for (const [method, target, server] of routes) {
    const answer = await site.send(method, target, [], method === 'POST' ? 'SAMLResponse=x' : '')
    t.equal(answer.status, 200, `${method} ${target}: 200`)
    t.same(servers(answer.seenBy), [server], `${method} ${target}: served by ${server}, once`)
  }
}

async function checkClosed (t: Test, site: Site): Promise<void> {
  const closed = [...gatewaySpellings('auth'), ...gatewaySpellings('metrics'), ...HANDOFF_SPELLINGS, ...PREFIX_CASES, '/_saml_auth', '/_saml_auth?x=1']
  const reached: string[] = []
  for (const target of closed) {
    for (const method of ['GET', 'POST']) {
      const answer = await site.send(method, target, ['Cookie: signed_in=1', ...FORGED], method === 'POST' ? 'x=1' : '')
      if (answer.status !== 404 || answer.seenBy.length > 0) reached.push(`${method} ${target} → ${answer.status} ${servers(answer.seenBy).join(',')}`)
    }
  }
  t.same(reached, [], `${closed.length * 2} requests: each 404 from nginx, none reached a gateway or Motion`)
  // The browser's own protocol: the same paths as HTTP/2 :path.
  const before = site.seen.length
  const statuses = await http2Statuses(site.nginx.origin, closed, { cookie: 'signed_in=1', 'x-original-uri': '/api/users/1', 'x-gateway-auth-request': '1' })
  t.same(closed.filter((_p, i) => statuses[i] !== 404), [], `HTTP/2: ${closed.length} paths, each 404`)
  t.equal(site.seen.length, before, 'HTTP/2: none reached a gateway or Motion')
  // A literal space or tab ends the path in HTTP/1.1: what follows is not a path nginx serves.
  for (const line of ['GET /api/login/saml  HTTP/1.1', 'GET /api/auth/saml/metrics\t HTTP/1.1']) {
    const answer = await site.send(line.split(' ')[0], line.slice(4).replace(/ HTTP\/1\.1$/, ''))
    t.ok(answer.status >= 400 && answer.status < 500 && answer.seenBy.length === 0, `${JSON.stringify(line)}: ${answer.status}, reached nobody`)
  }
}

async function checkHeaders (t: Test, site: Site, kind: SiteKind): Promise<void> {
  const targets = ['/api/auth/saml/metadata', '/api/auth/saml?returnTo=/']
  // The full site clears them on Motion's locations too; a Motion site keeps its locations' own lists.
  if (kind === 'full') targets.push('/', '/api/users/1', '/socket.io/?EIO=4&transport=polling')
  for (const target of targets) {
    const answer = await site.send('GET', target, FORGED)
    t.equal(answer.seenBy.length, 1, `${target}: reached one server`)
    const headers = answer.seenBy[0]?.headers ?? {}
    t.same(CLEARED.filter((name) => headers[name] !== undefined), [], `${target}: none of ${CLEARED.join(', ')}`)
    t.equal(headers['x-forwarded-for'], '127.0.0.1', `${target}: X-Forwarded-For is the client's address, not what it sent`)
  }
}

async function checkHsts (t: Test, site: Site): Promise<void> {
  for (const target of ['/', '/api/auth/saml/metadata', '/api/users/1', '/api/login/saml', '/api/auth/saml/auth']) {
    const answer = await site.send('GET', target)
    t.same(answer.headers['strict-transport-security'], [HSTS], `${target} (${answer.status})`)
  }
}

async function checkWebSocket (t: Test, site: Site): Promise<void> {
  const socket = await rawUpgrade(site.nginx.origin, '/socket.io/?EIO=4&transport=websocket')
  const echoed = await new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()))
    socket.write('ping')
  })
  socket.destroy()
  t.equal(echoed, 'ping', 'bytes both ways after the 101')
  t.ok(site.motion.seen.some((s) => s.headers.upgrade === 'websocket'), 'Motion saw the upgrade')
}

async function checkRedirect (t: Test, site: Site): Promise<void> {
  const { httpOrigin } = site.nginx
  const answer = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest(`${httpOrigin}/api/auth/saml?returnTo=/`, resolve).on('error', reject).end()
  })
  answer.resume()
  t.equal(answer.statusCode, 301)
  t.equal(answer.headers.location, 'https://127.0.0.1/api/auth/saml?returnTo=/')
}

async function checkErrorLog (t: Test, site: Site): Promise<void> {
  t.equal(site.nginx.errorLog().split('\n').filter((line) => /\[(error|crit|alert|emerg)\]/.test(line) && !/connect\(\) failed/.test(line)).join('\n'), '')
}

async function checkAuthRequest (t: Test, site: Site): Promise<void> {
  const forgedAuth = FORGED.filter((h) => !h.startsWith('X-Forwarded-For'))
  for (const method of ['GET', 'POST']) {
    const answer = await site.send(method, '/reports/q1?week=3', ['Cookie: signed_in=1', ...forgedAuth], method === 'POST' ? 'x=1' : '')
    t.equal(answer.status, 200, `${method}: served`)
    const [ask, motion] = answer.seenBy
    t.equal(ask?.url, '/api/auth/saml/auth', `${method}: first the gateway's /auth`)
    t.equal(ask?.headers['x-gateway-auth-request'], '1', 'X-Gateway-Auth-Request: 1')
    t.equal(ask?.headers['x-original-method'], method, 'X-Original-Method: the request\'s own')
    t.equal(ask?.headers['x-original-uri'], '/reports/q1?week=3', 'X-Original-URI: the request\'s own')
    t.equal(motion?.server, 'motion', 'then Motion')
    t.equal(motion?.headers['x-gateway-identity'], `identity for ${method} /reports/q1?week=3`, 'Motion got the identity for this request, not the forged one')
    t.equal(answer.headers['x-gateway-identity'], undefined, 'the client never sees a token')
  }
  const anonymous = await site.send('GET', '/reports/q1', forgedAuth)
  t.equal(anonymous.status, 302, 'no session: to the login')
  t.same(anonymous.headers.location, [`${site.nginx.origin}/api/auth/saml?returnTo=/reports/q1`])
  t.same(servers(anonymous.seenBy), ['gateway'], 'Motion saw nothing')
}

async function checkSeveralGateways (t: Test, site: Site): Promise<void> {
  const [a, b] = site.gateways
  const spread = await Promise.all(Array.from({ length: 8 }, () => site.send('GET', '/api/auth/saml/health')))
  t.ok(spread.every((r) => r.status === 200), 'all answered')
  t.ok(a.seen.length > 0 && b.seen.length > 0, 'both gateways served')

  // b answers 503 (stopping, or its store is away): nginx passes the POST to a and counts b as
  // failed for fail_timeout, so the GETs after it go to a alone.
  b.answer = (_req, res) => { res.writeHead(503); res.end() }
  const viaB = await untilSeenBy(site, b, () => site.send('POST', '/api/auth/saml/callback', [], 'SAMLResponse=x'))
  t.same(viaB?.seenBy.map((s) => s.server), ['gateway-b', 'gateway-a'], 'a POST that b refused with 503 went on to a')
  t.equal(viaB?.status, 200, 'and a answered it')
  const gets = await Promise.all(Array.from({ length: 6 }, () => site.send('GET', '/api/auth/saml/metadata')))
  t.same(gets.map((r) => r.status), gets.map(() => 200), 'GETs: all 200')
  t.ok(gets.every((r) => r.seenBy.at(-1)?.server === 'gateway-a'), 'served by a')

  // b resets the connection after reading the request, as a stopping gateway does to the
  // connections still queued at its listener: the POST goes on to a.
  await untilServing(site, b)
  b.answer = (req) => { req.socket.resetAndDestroy() }
  const reset = await untilSeenBy(site, b, () => site.send('POST', '/api/auth/saml/callback', [], 'SAMLResponse=x'))
  t.same(reset?.seenBy.map((s) => s.server), ['gateway-b', 'gateway-a'], 'a POST whose connection b reset went on to a')
  t.equal(reset?.status, 200, 'and a answered it')

  // b gone (connections refused): nothing was sent to it, so POSTs go to a as well.
  await b.close()
  const after = []
  for (let i = 0; i < 6; i++) after.push(await site.send(i % 2 === 0 ? 'POST' : 'GET', '/api/auth/saml/callback', [], i % 2 === 0 ? 'SAMLResponse=x' : ''))
  t.same(after.map((r) => r.status), after.map(() => 200), 'every request answered')
  t.ok(after.every((r) => servers(r.seenBy).length === 1 && r.seenBy[0].server === 'gateway-a'), 'each once, by a')
}

/** Sends until one request reaches `gateway` (nginx spreads them round-robin); that answer. */
async function untilSeenBy (site: Site, gateway: Recorder, send: () => ReturnType<Site['send']>): Promise<Awaited<ReturnType<Site['send']>> | undefined> {
  for (let i = 0; i < 6; i++) {
    const answer = await send()
    if (answer.seenBy.some((s) => s.server === gateway.name)) return answer
  }
  return undefined
}

/** Waits until nginx sends requests to `gateway` again (its fail_timeout over), answering 200 meanwhile. */
async function untilServing (site: Site, gateway: Recorder): Promise<void> {
  gateway.answer = gatewayAnswer(gateway.name)
  for (let i = 0; i < 200; i++) {
    const answer = await site.send('GET', '/api/auth/saml/health')
    if (answer.seenBy.some((s) => s.server === gateway.name)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`nginx did not send to ${gateway.name} again within 20 s`)
}

function sharedChecks (t: Test, kind: SiteKind, site: Site): void {
  t.test('routes: the gateway\'s paths to a gateway, the rest to Motion', (t) => checkRoutes(t, site))
  t.test('closed under every spelling: /auth, /metrics, the handoff endpoint, the prefix in another case', (t) => checkClosed(t, site))
  t.test('headers only nginx sets: a client\'s own never reach the gateway', (t) => checkHeaders(t, site, kind))
  t.test('HSTS with includeSubDomains on every answer', (t) => checkHsts(t, site))
  t.test('socket.io: the WebSocket upgrade reaches Motion', (t) => checkWebSocket(t, site))
  t.test('plain http: a redirect to https, path and query kept', (t) => checkRedirect(t, site))
  t.test('nginx logged no error', (t) => checkErrorLog(t, site))
}

const missing = missingNginxTools()
t.test('deploy/nginx on a real nginx', { skip: process.env.CI === undefined ? missing ?? false : false }, async (t) => {
  if (missing !== undefined) return t.fail(missing)

  t.test('Motion\'s own site with snippets/saml-gateway.conf included', async (t) => {
    const site = await startSite(t, 'motion')
    sharedChecks(t, 'motion', site)
    t.test('auth_request: only nginx\'s subrequest asks /auth, with the method and URI it decides about', (t) => checkAuthRequest(t, site))
    t.test('several gateways: spread, and a request a stopping one refused or reset is passed on, POSTs too', (t) => checkSeveralGateways(t, site))
  })

  t.test('the full site, deploy/nginx/motion-site.conf', async (t) => {
    sharedChecks(t, 'full', await startSite(t, 'full'))
  })
})
