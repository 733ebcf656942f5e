// The demo stack over real HTTP on loopback, driven like a browser: a cookie jar, redirects
// followed one step at a time, forms read from the HTML and submitted as a person would.
import t, { type Test } from 'tap'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import { request } from 'undici'
import { startDemoIdp } from '../../demo/idp.js'
import { startDemo, type DemoStack } from '../../demo/stack.js'
import { parseSetCookie } from '../helpers/set-cookie.js'

interface Page { url: string, status: number, headers: Record<string, string | string[] | undefined>, body: string }
interface Form { action: string, method: string, fields: Array<[string, string]>, radios: Map<string, string[]>, buttons: string[] }
interface Cookie { name: string, value: string, path: string }

/** Just enough of a browser: cookies by path (all hosts are 127.0.0.1, and cookies ignore ports), no scripts. */
class Browser {
  readonly cookies = new Map<string, Cookie>()
  readonly visited: string[] = []

  async go (url: string, init: { method?: string, form?: Array<[string, string]>, headers?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url)
    const cookie = [...this.cookies.values()].filter((c) => pathMatches(target.pathname, c.path)).map((c) => `${c.name}=${c.value}`).join('; ')
    const res = await request(target, {
      method: (init.method ?? (init.form !== undefined ? 'POST' : 'GET')) as 'GET',
      headers: {
        accept: 'text/html,application/xhtml+xml',
        ...(cookie !== '' ? { cookie } : {}),
        ...(init.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...init.headers
      },
      body: init.form !== undefined ? new URLSearchParams(init.form).toString() : undefined
    })
    const body = await res.body.text()
    this.visited.push(`${init.form !== undefined ? 'POST' : 'GET'} ${target.origin}${target.pathname}`)
    for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) this.store(line, target)
    return { url: target.href, status: res.statusCode, headers: res.headers, body }
  }

  /** One redirect step, as a browser takes it. */
  async next (page: Page): Promise<Page> {
    if (![301, 302, 303, 307, 308].includes(page.status)) throw new Error(`not a redirect: ${page.status} ${page.url}`)
    return this.go(new URL(String(page.headers.location), page.url).href)
  }

  async submit (page: Page, form: Form, choose: Record<string, string> = {}): Promise<Page> {
    const fields = form.fields.filter(([name]) => !(name in choose))
    for (const [name, v] of Object.entries(choose)) fields.push([name, v])
    return this.go(new URL(form.action, page.url).href, { method: form.method.toUpperCase(), form: fields })
  }

  private store (line: string, url: URL): void {
    const { expired, ...cookie } = parseSetCookie(line, url)
    const key = `${cookie.path}\t${cookie.name}`
    if (expired) this.cookies.delete(key)
    else this.cookies.set(key, cookie)
  }
}

function pathMatches (path: string, cookiePath: string): boolean {
  return path === cookiePath || path.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`)
}

const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
const attrs = (tag: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const m of tag.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) out[m[1].toLowerCase()] = unescape(m[2] ?? '')
  return out
}

function formsOf (html: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const form = attrs(m[1])
    const fields: Array<[string, string]> = []
    const radios = new Map<string, string[]>()
    for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = attrs(input[1])
      if (a.type === 'radio') {
        radios.set(a.name, [...(radios.get(a.name) ?? []), a.value])
        if ('checked' in a) fields.push([a.name, a.value])
      } else if (a.name !== undefined) {
        fields.push([a.name, a.value ?? ''])
      }
    }
    const buttons = [...m[2].matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/gi)].map((b) => b[1].trim())
    return { action: form.action ?? '', method: form.method ?? 'get', fields, radios, buttons }
  })
}

function linkTo (html: string, text: string): string {
  for (const m of html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)) if (m[2].includes(text)) return attrs(m[1]).href
  throw new Error(`no link "${text}"`)
}

const field = (form: Form, name: string): string | undefined => form.fields.find(([n]) => n === name)?.[1]
const idpHits = (demo: DemoStack): number => demo.idp.requests.length

t.test('the demo over real HTTP', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'saml-gateway-demo-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const demo = await startDemo({ ports: 0, dataDir, logger: false })
  t.teardown(() => demo.close())
  const motion = demo.motionUrl
  let aliceResponse = ''
  const alice = new Browser()

  /** From the IdP's login form to Motion: choose a person, post the auto-post form to the ACS. */
  async function signInAtIdp (t: Test, browser: Browser, loginForm: Page, user: string): Promise<{ acs: Page, samlResponse: string }> {
    t.equal(loginForm.status, 200, 'the IdP shows its login form')
    const [choose] = formsOf(loginForm.body)
    t.ok(choose.radios.get('user')?.includes(user), `${user} is offered`)
    const autoPost = await browser.submit(loginForm, choose, { user })
    t.equal(autoPost.status, 200)
    const [post] = formsOf(autoPost.body)
    t.equal(post.action, `${motion}/api/auth/saml/callback`, 'the SAMLResponse goes to the ACS, through Motion (nginx)')
    t.equal(post.method, 'post')
    t.same(post.buttons, ['Continue'], 'a visible Continue button for browsers without JavaScript')
    t.match(autoPost.body, /<script src="\/saml\/autopost\.js" defer><\/script>/, 'the auto-submit is one external script')
    t.notMatch(autoPost.body, /<script>/, 'no inline script')
    const samlResponse = field(post, 'SAMLResponse')!
    const acs = await browser.submit(autoPost, post)
    return { acs, samlResponse }
  }

  t.test('(a) SP-initiated: Motion → gateway → IdP → ACS → Motion, signed in as Alice', async (t) => {
    const home = await alice.go(`${motion}/`)
    t.equal(home.status, 200)
    t.match(home.body, /not signed in/)
    const login = linkTo(home.body, 'Login with SAML')
    t.equal(login, '/api/auth/saml?returnTo=/')

    const toIdp = await alice.go(new URL(login, motion).href)
    t.equal(toIdp.status, 302, 'the gateway (through the proxy) redirects to the IdP')
    const location = String(toIdp.headers.location)
    t.ok(location.startsWith(`${demo.idp.entryPoint}?SAMLRequest=`), 'to XC_SAML_ENTRYPOINT')
    const xml = inflateRawSync(Buffer.from(new URL(location).searchParams.get('SAMLRequest')!, 'base64')).toString()
    t.match(xml, `AssertionConsumerServiceURL="${motion}/api/auth/saml/callback"`)
    t.ok([...alice.cookies.values()].some((c) => c.name === 'saml_gateway_request' && c.path === '/api/auth/saml'), 'binding cookie, Set-Cookie relayed by the proxy')

    const { acs, samlResponse } = await signInAtIdp(t, alice, await alice.next(toIdp), 'alice')
    aliceResponse = samlResponse
    const xmlResponse = Buffer.from(samlResponse, 'base64').toString()
    t.match(xmlResponse, /<samlp:Response [^>]*InResponseTo="_/, 'InResponseTo on the Response')
    t.match(xmlResponse, /<SubjectConfirmationData InResponseTo="_/, 'and on SubjectConfirmationData')
    t.match(xmlResponse, /SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"/)

    t.equal(acs.status, 302, `the ACS accepted the demo IdP's response (${acs.status === 302 ? 'ok' : acs.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400)})`)
    t.equal(acs.headers.location, '/', "Motion's answer, relayed")
    t.equal(acs.headers['x-gateway-identity'], undefined, 'the identity header never reaches the browser')
    const names = [...alice.cookies.values()].map((c) => c.name)
    t.ok(names.includes('motion_session'), "Motion's session cookie")
    t.ok(names.includes('saml_gateway_session'), "the gateway's session cookie")

    const signedIn = await alice.next(acs)
    t.equal(signedIn.status, 200)
    t.match(signedIn.body, /Signed in as <strong>Alice Agent<\/strong>/)
    t.match(signedIn.body, /alice@contoso\.example/)

    t.equal(demo.motion.logins.length, 1, 'Motion verified one identity')
    const who = demo.motion.logins[0]
    t.equal(who.sub, 'alice@contoso.example')
    t.equal(who.email, 'alice@contoso.example')
    t.equal(who.given_name, 'Alice')
    t.equal(who.family_name, 'Agent')
    t.equal(who.oid, '5f1c2d3e-0a1b-4c5d-8e9f-a1b2c3d4e5f6')
    t.equal(who.iss, `${motion}/api/auth/saml`)
    t.equal(who.aud, motion)
    t.equal(who.htu, `${motion}/api/login/saml`)
    t.same(demo.motion.refusals, [])
  })

  t.test('(b) a repeat login with the gateway session never reaches the IdP', async (t) => {
    const before = idpHits(demo)
    const again = await alice.go(`${motion}/api/auth/saml?returnTo=/`)
    t.equal(again.status, 302)
    t.equal(again.headers.location, '/', 'straight back into Motion')
    t.equal(idpHits(demo), before, 'no request reached the IdP')
    t.equal(demo.motion.logins.length, 2, 'a fresh handoff')
    t.match((await alice.next(again)).body, /Alice Agent/)
  })

  t.test('(c) IdP-initiated (Entra "Test" button): no InResponseTo, RelayState lands in Motion', async (t) => {
    const bob = new Browser()
    const autoPost = await bob.go(demo.idp.idpInitiatedUrl('bob', '/?via=idp'))
    t.equal(autoPost.status, 200)
    const [post] = formsOf(autoPost.body)
    t.equal(field(post, 'RelayState'), '/?via=idp')
    t.notMatch(Buffer.from(field(post, 'SAMLResponse')!, 'base64').toString(), /InResponseTo/, 'unsolicited')
    const acs = await bob.submit(autoPost, post)
    t.equal(acs.status, 302)
    t.equal(acs.headers.location, '/?via=idp')
    t.match((await bob.next(acs)).body, /Signed in as <strong>Bob Supervisor<\/strong>/)
    t.equal(demo.motion.logins.at(-1)?.email, 'bob@contoso.example')
  })

  t.test('(d) the same SAMLResponse posted a second time is refused with SAML_REPLAY', async (t) => {
    const logins = demo.motion.logins.length
    const replay = await alice.go(`${motion}/api/auth/saml/callback`, { form: [['SAMLResponse', aliceResponse]] })
    t.equal(replay.status, 400)
    t.match(replay.headers['content-type'], /text\/html/)
    t.match(replay.body, /SAML_REPLAY/)
    const json = await new Browser().go(`${motion}/api/auth/saml/callback`, { form: [['SAMLResponse', aliceResponse]], headers: { accept: 'application/json' } })
    t.equal(json.status, 400)
    t.equal(JSON.parse(json.body).error, 'SAML_REPLAY')
    t.equal(demo.motion.logins.length, logins, 'Motion was not called')
  })

  t.test('(e) Carol has two Motion profiles: the chooser, its CSRF token, the chosen profile', async (t) => {
    const carol = new Browser()
    const toIdp = await carol.go(`${motion}/api/auth/saml?returnTo=/`)
    const { acs } = await signInAtIdp(t, carol, await carol.next(toIdp), 'carol')
    t.equal(acs.status, 200, 'the gateway shows the chooser')
    t.match(acs.body, /Choose a profile/)
    const [chooser] = formsOf(acs.body)
    t.equal(chooser.action, '/api/auth/saml/profile')
    t.same(chooser.radios.get('profile'), ['103', '104'])
    t.ok(field(chooser, 'csrf'), 'with a CSRF token')

    const forged = await carol.submit(acs, { ...chooser, fields: chooser.fields.filter(([n]) => n !== 'csrf') }, { profile: '104', csrf: 'forged' })
    t.equal(forged.status, 403, 'a wrong token is refused')

    const chosen = await carol.submit(acs, chooser, { profile: '104' })
    t.equal(chosen.status, 302)
    t.equal(chosen.headers.location, '/')
    const home = await carol.next(chosen)
    t.match(home.body, /Carol Multi \(administrator\)/)
    const last = demo.motion.logins.at(-1)!
    t.equal(last.email, 'carol@contoso.example')
    t.equal(last.profile, '104', 'the identity carries the chosen profile')
  })

  t.test('a person without a Motion user gets the friendly refusal, with a way out', async (t) => {
    const dave = new Browser()
    const toIdp = await dave.go(`${motion}/api/auth/saml?returnTo=/`)
    const { acs } = await signInAtIdp(t, dave, await dave.next(toIdp), 'dave')
    t.equal(acs.status, 403)
    t.match(acs.body, /Motion has no user with the email dave@contoso\.example/)
    t.match(acs.body, /UPSTREAM_REFUSED/)
  })

  t.test('sign-out: Motion → gateway logout → IdP SLO → gateway SLO endpoint', async (t) => {
    const out = await alice.go(`${motion}/logout`)
    t.equal(out.status, 302)
    t.equal(out.headers.location, '/api/auth/saml/logout')
    t.notOk([...alice.cookies.values()].some((c) => c.name === 'motion_session'), 'the Motion session cookie is cleared')
    const gatewayLogout = await alice.next(out)
    t.equal(gatewayLogout.status, 302, 'the gateway ended its session and sends a LogoutRequest')
    const toIdp = String(gatewayLogout.headers.location)
    t.ok(toIdp.startsWith(`${demo.idp.logoutUrl}?SAMLRequest=`), 'a LogoutRequest to XC_SAML_LOGOUT_URL')
    const idpAnswer = await alice.next(gatewayLogout)
    t.equal(idpAnswer.status, 302, `the IdP read the LogoutRequest (${idpAnswer.status === 302 ? 'ok' : idpAnswer.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)})`)
    t.ok(String(idpAnswer.headers.location).startsWith(`${motion}/api/auth/saml/logout/callback?SAMLResponse=`), 'a signed LogoutResponse to the SLO endpoint')
    t.match(String(idpAnswer.headers.location), /&SigAlg=.*&Signature=/)
    const done = await alice.next(idpAnswer)
    t.equal(done.status, 302, `the gateway accepted the LogoutResponse (${done.status === 302 ? 'ok' : done.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)})`)
    const session = await alice.go(`${motion}/api/auth/saml/session`, { headers: { accept: 'application/json' } })
    t.equal(session.status, 401, 'no gateway session any more')
  })
})

t.test('the demo IdP makes its RSA-2048 key once and reuses it on the next start', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'saml-gateway-demo-idp-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const start = () => startDemoIdp({ spEntityId: 'http://127.0.0.1:1', acsUrl: 'http://127.0.0.1:1/acs', sloUrl: 'http://127.0.0.1:1/slo', dataDir })
  const first = await start()
  await first.close()
  const second = await start()
  await second.close()
  t.equal(second.certPem, first.certPem, 'the same certificate')
  const cert = new X509Certificate(first.certPem)
  t.equal(cert.publicKey.asymmetricKeyType, 'rsa')
  t.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
  t.ok(cert.checkIssued(cert), 'self-signed')
  t.equal(second.issuer, `${second.url}/saml`, 'its entity ID is its own URL')
})
