// saml-gateway/express on a real node:http server (the request and response Express extends):
// a good token reaches the route typed and once; forged, replayed, expired, misdirected and
// ended-session tokens are answered by the middleware with 401 and never reach the route.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync } from 'node:crypto'
import { join } from 'node:path'
import { request } from 'undici'
import { createIdentityMinter } from '../../src/identity/mint.js'
import { loadIdentityKeys, type IdentityKeys } from '../../src/identity/keys.js'
import {
  answer, createMemoryJtiCache, createMemorySessionRevocations, gatewayIdentity, identityOf, logoutNotice,
  profileOf, returnToOf, type GatewayIdentityOptions, type Middleware, type VerifiedIdentity
} from '../../src/identity/express.js'
import { ISSUER, T0, fullClaims } from './_fixtures.js'

const edPem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
const dir = t.testdir({ 'gateway.pem': edPem(), 'attacker.pem': edPem() })
let keys: IdentityKeys
let attacker: IdentityKeys
const clock = { now: T0 }
const revocations = createMemorySessionRevocations({ now: () => clock.now })
const routed: VerifiedIdentity[] = []
const refused: string[] = []
let base = ''

// Express-style chain: each middleware calls next() or answers; the route answers as HANDOFF.md says.
const chain = (res: ServerResponse, req: IncomingMessage, steps: Array<Middleware | ((req: IncomingMessage, res: ServerResponse) => void)>) => {
  const run = (i: number) => (err?: unknown) => {
    if (err !== undefined) { res.statusCode = 500; res.end(String(err)); return }
    const step = steps[i]
    if (step.length === 3) (step as Middleware)(req, res, run(i + 1))
    else (step as (req: IncomingMessage, res: ServerResponse) => void)(req, res)
  }
  run(0)()
}

t.before(async () => {
  keys = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'gateway.pem') })
  attacker = await loadIdentityKeys({ dataDir: dir, keyFile: join(dir, 'attacker.pem') })
  const options = (): GatewayIdentityOptions => ({
    issuer: ISSUER,
    audience: base,
    jwks: keys.jwks,
    now: () => clock.now,
    jtiCache: createOnce,
    revocations,
    onRefused: (err) => { refused.push(err.code) }
  })
  const createOnce = createMemoryJtiCache({ now: () => clock.now })
  let login: Middleware | undefined
  let logout: Middleware | undefined
  const server = createServer((req, res) => {
    login ??= gatewayIdentity(options())
    logout ??= logoutNotice(options())
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}')
      if (req.url === '/api/logout/saml') {
        return chain(res, req, [logout!, (req: IncomingMessage, res: ServerResponse) => { routed.push(identityOf(req)); res.writeHead(204).end() }])
      }
      chain(res, req, [login!, (req: IncomingMessage, res: ServerResponse) => {
        const who = identityOf(req)
        routed.push(who)
        if (who.email === 'nobody@example.com') return answer.refuse(res, 'No Motion user has this email.', 404)
        if (who.multi_user_key !== undefined && profileOf(body, who) === undefined) {
          return answer.chooseProfile(res, [{ id: '1', label: 'Agent' }, { id: '2', label: 'Admin', role: 'admin' }])
        }
        answer.signIn(res, { location: returnToOf(body), cookies: ['motion_session=s1; Path=/; HttpOnly'] })
      }])
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
})

const mint = async (opts: { k?: IdentityKeys, at?: number, path?: string, claims?: Partial<typeof fullClaims> } = {}) =>
  await createIdentityMinter(opts.k ?? keys, { issuer: ISSUER, audience: base, now: () => opts.at ?? clock.now })
    .mint({ ...fullClaims, multi_user_key: undefined as never, profile: undefined as never, ...opts.claims }, { method: 'POST', url: `${base}${opts.path ?? '/api/login/saml'}` })

const post = async (token: string | undefined, body: unknown = { returnTo: '/queue' }, path = '/api/login/saml') => {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { 'x-gateway-identity': token } : {}) },
    body: JSON.stringify(body)
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) }
}

t.test('a good token: the route gets the typed identity and answers 302 + Set-Cookie to returnTo', async (t) => {
  const before = routed.length
  const res = await post(await mint())
  t.equal(res.status, 302)
  t.equal(res.headers.location, '/queue')
  t.same([res.headers['set-cookie']].flat(), ['motion_session=s1; Path=/; HttpOnly'])
  t.equal(routed.length, before + 1)
  t.equal(routed.at(-1)?.email, fullClaims.email)
  t.equal(routed.at(-1)?.htu, `${base}/api/login/saml`, 'bound to this route, found from the request itself')
  t.equal((await post(await mint(), { returnTo: '//evil.example.com' })).headers.location, '/', 'a returnTo off the site lands on /')
})

t.test('the other answers the gateway understands: 300 profiles, 404 with a message', async (t) => {
  const choose = await post(await mint({ claims: { multi_user_key: 'carol' } }))
  t.equal(choose.status, 300)
  t.same(choose.json, { profiles: [{ id: '1', label: 'Agent' }, { id: '2', label: 'Admin', role: 'admin' }] })
  const chosen = await post(await mint({ claims: { multi_user_key: 'carol' } }), { profile: '2' })
  t.equal(chosen.status, 302, 'with the profile chosen, a session')
  const none = await post(await mint({ claims: { email: 'nobody@example.com' } }))
  t.equal(none.status, 404)
  t.same(none.json, { message: 'No Motion user has this email.' })
})

t.test('refused by the middleware, never reaching the route', async (t) => {
  const cases: Array<[string, () => Promise<string | undefined>, string]> = [
    ['no header', async () => undefined, 'IDENTITY_MISSING'],
    ['forged: signed by another key', async () => await mint({ k: attacker }), 'IDENTITY_SIGNATURE'],
    ['forged: payload edited after signing', async () => {
      const [h, , s] = (await mint()).split('.')
      const payload = Buffer.from(JSON.stringify({ ...fullClaims, email: 'boss@example.com' })).toString('base64url')
      return `${h}.${payload}.${s}`
    }, 'IDENTITY_SIGNATURE'],
    ['expired: made 2 minutes ago', async () => await mint({ at: clock.now - 120_000 }), 'IDENTITY_EXPIRED'],
    ['made for another URL', async () => await mint({ path: '/api/users/1' }), 'IDENTITY_BINDING']
  ]
  for (const [name, make, code] of cases) {
    const before = routed.length
    const res = await post(await make())
    t.equal(res.status, 401, `${name}: 401`)
    t.equal(res.json?.error, code, `${name}: ${code}`)
    t.match(res.json?.message, /could not be verified/, `${name}: a message the gateway can show`)
    t.equal(routed.length, before, `${name}: the route was not called`)
    t.equal(refused.at(-1), code, `${name}: onRefused told`)
  }
})

t.test('replayed: the same token a second time is refused (a jti cache by default)', async (t) => {
  const token = await mint()
  t.equal((await post(token)).status, 302, 'first use')
  const again = await post(token)
  t.equal(again.status, 401)
  t.equal(again.json?.error, 'IDENTITY_REPLAY')
})

t.test('the logout notice ends the session: its other tokens are refused afterwards', async (t) => {
  const sid = 'session-to-end'
  const unused = await mint({ claims: { sid } })
  const notice = await post(await mint({ claims: { sid }, path: '/api/logout/saml' }), { reason: 'idp_logout' }, '/api/logout/saml')
  t.equal(notice.status, 204, 'the notice verified')
  t.equal(routed.at(-1)?.sid, sid, 'the logout route learnt whose session ended')
  const late = await post(unused)
  t.equal(late.status, 401)
  t.equal(late.json?.error, 'IDENTITY_SESSION_ENDED', 'a token made before the logout, used after it')
  t.equal((await post(await mint({ claims: { sid: 'another' } }))).status, 302, 'other sessions go on')
  const forgedNotice = await post(await mint({ k: attacker, claims: { sid: 'another' }, path: '/api/logout/saml' }), {}, '/api/logout/saml')
  t.equal(forgedNotice.status, 401, 'a forged notice ends nothing')
  t.equal((await post(await mint({ claims: { sid: 'another' } }))).status, 302)
})

t.test('options are checked when the middleware is made', async (t) => {
  t.throws(() => gatewayIdentity({ issuer: '', audience: 'x', jwks: { keys: [] } }), /options\.issuer is required/)
  t.throws(() => gatewayIdentity({ issuer: 'x', audience: 'x' }), /exactly one of jwks, jwksUrl or secret/)
  t.throws(() => identityOf({ headers: {} }), /no verified identity/)
  t.equal(returnToOf({ returnTo: '/\\evil' }), '/')
  t.equal(returnToOf(undefined), '/')
})
