// SimpleSAMLphp 1.19 (Debian's simplesamlphp) as the IdP, under PHP's built-in server with its own
// configuration directory and key; the gateway reads its metadata (/saml2/idp/metadata.php) and it
// reads the gateway's. SimpleSAMLphp itself checks the signatures of what the gateway sends it
// (validate.authnrequest, validate.logout): an unsigned or badly signed message is an error page.
import t, { type Test } from 'tap'
import { request } from 'undici'
import type { Browser, Page } from './_browser.js'
import { formsOf } from './_browser.js'
import { BASE, SP_ENTITY_ID, haveTools, makeKeyPair, missingTools, sloPostOnly, startGateway, tempDir, type Gateway, type KeyPair } from './_harness.js'
import { codeOf, layoutOf, type LoginResult, postedResponse, postLogoutPage, sessionOf, signIn, signOutAtIdp, signOutHere } from './_flows.js'
import { SSP_USER, startSimpleSamlPhp, type SimpleSamlPhp, type SspCase } from './_simplesamlphp.js'

const PACKAGES = 'simplesamlphp php-cli php-xml php-mbstring openssl'
const ALICE = { email: 'alice@example.org', given_name: 'Alice', family_name: 'Example', name: 'Alice Example' }
const FORMAT = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'
}

/** Sign in at SimpleSAMLphp's own login form (exampleauth:UserPass), then on to the gateway. */
async function signInAtSsp (gw: Gateway, browser: Browser, start: string): Promise<LoginResult & { loginForm?: Page }> {
  const first = await signIn(gw, browser, start)
  const form = formsOf(first.last.body).find((f) => f.fields.some(([name]) => name === 'password'))
  if (form === undefined) return first
  const posted = await browser.submit(first.last, form, { username: SSP_USER.username, password: SSP_USER.password })
  const before = gw.upstream.calls.length
  const { page, trail } = await browser.follow(posted, { stopAt: (url) => url.origin === new URL(BASE).origin && !url.pathname.startsWith('/api/auth/saml') })
  const acs = trail.find((p) => p.url === `${BASE}/callback`)
  return {
    loginForm: first.last,
    acs,
    last: page,
    trail: [...first.trail, ...trail],
    handoff: gw.upstream.calls.length > before ? gw.upstream.calls.at(-1) : undefined,
    code: acs !== undefined && acs.status >= 400 ? codeOf(acs.body) : undefined,
    response: postedResponse(trail)
  }
}

interface Ctx {
  dir: string
  spKeys: KeyPair
  ssp: SimpleSamlPhp
  idpMetadata: string
  /** A gateway for this case and SimpleSAMLphp told about it; `sloPostOnly`: both sides offer HTTP-POST only for single logout. */
  setup: (t: Test, c: SspCase, env?: Record<string, string>, opts?: { sp?: KeyPair, sloPostOnly?: boolean }) => Promise<Gateway>
  /** SimpleSAMLphp's log from a mark (its length before) on. */
  logSince: (mark: number) => string
}

async function startSsp (t: Test): Promise<Ctx> {
  const dir = tempDir(t, 'saml-gateway-ssp-')
  const spKeys = makeKeyPair(dir, 'gateway-sp')
  const ssp = await startSimpleSamlPhp(t, dir, makeKeyPair(dir, 'ssp-idp'))
  const idpMetadata = await (await request(ssp.metadataUrl)).body.text()
  const setup: Ctx['setup'] = async (t, c, env = {}, opts = {}) => {
    const postOnly = (xml: string): string => opts.sloPostOnly === true ? sloPostOnly(xml) : xml
    const gw = await startGateway(t, postOnly(idpMetadata), opts.sp ?? spKeys, env)
    ssp.configure(postOnly(await gw.metadata()), c)
    return gw
  }
  return { dir, spKeys, ssp, idpMetadata, setup, logSince: (mark) => ssp.log().slice(mark) }
}

// A real IdP process, a gateway per case and a browser walking every redirect: more than the suite's
// default two minutes per file on a busy machine.
t.setTimeout(300_000)

if (haveTools(t, 'SimpleSAMLphp', missingTools(['openssl', 'simplesamlphp']), PACKAGES)) {
  t.test('SimpleSAMLphp IdP', async (t) => {
    const ctx = await startSsp(t)
    t.match(ctx.idpMetadata, /IDPSSODescriptor/, 'SimpleSAMLphp publishes its metadata')
    logins(t, ctx)
    settings(t, ctx)
    layoutsAndNames(t, ctx)
    logouts(t, ctx)
  })
}

function logins (t: Test, ctx: Ctx): void {
  const { setup, ssp, idpMetadata, spKeys, dir, logSince } = ctx
  t.test('SP-initiated login: SimpleSAMLphp validates the signed AuthnRequest; signed assertion; its own attribute names', async (t) => {
    const gw = await setup(t, {})
    const mark = ssp.log().length
    const result = await signInAtSsp(gw, gw.browser(), `${BASE}/login?returnTo=/agent`)
    t.ok(result.loginForm, 'SimpleSAMLphp asked for the password')
    t.equal(result.acs?.status, 302, `the ACS accepts the response ${result.code ?? ''}`)
    t.notMatch(logSince(mark), /ERROR/, 'SimpleSAMLphp logged no error')
    t.match(result.handoff?.identity, ALICE, 'email and names from mail, givenName, sn, displayName')
    t.same(result.handoff?.body, { returnTo: '/agent' })
  })

  t.test('SP-initiated login, POST binding: SimpleSAMLphp validates the enveloped signature', async (t) => {
    const gw = await setup(t, {}, { GATEWAY_REQUEST_BINDING: 'post' })
    const result = await signInAtSsp(gw, gw.browser(), `${BASE}/login?returnTo=/agent`)
    t.ok(result.trail.some((p) => p.url.endsWith('/saml2/idp/SSOService.php') && p.status !== 500), 'the AuthnRequest was posted to SimpleSAMLphp')
    t.equal(result.acs?.status, 302, `the ACS accepts the response ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE)
  })

  t.test('an AuthnRequest signed with a key the SP metadata does not hold is refused by SimpleSAMLphp: it does check', async (t) => {
    const gw = await startGateway(t, idpMetadata, spKeys)
    await setup(t, {}, {}, { sp: makeKeyPair(dir, 'stranger-sp') }) // SimpleSAMLphp now trusts the stranger's certificate
    const mark = ssp.log().length
    const result = await signIn(gw, gw.browser(), `${BASE}/login`)
    t.equal(result.acs, undefined, 'no response came back')
    t.match(logSince(mark), /signature/i, 'SimpleSAMLphp logged a signature error')
  })

  t.test('IdP-initiated login (SSOService.php?spentityid=…) with a RelayState', async (t) => {
    const gw = await setup(t, {})
    const start = `${ssp.origin}/saml2/idp/SSOService.php?spentityid=${encodeURIComponent(SP_ENTITY_ID)}&RelayState=${encodeURIComponent('/reports')}`
    const result = await signInAtSsp(gw, gw.browser(), start)
    t.equal(result.acs?.status, 302, `the ACS accepts the unsolicited response ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE)
    t.same(result.handoff?.body, { returnTo: '/reports' })
  })
}

function layoutsAndNames (t: Test, ctx: Ctx): void {
  const { setup } = ctx
  t.test('signing and encryption layouts', async (t) => {
    type Layout = ReturnType<typeof layoutOf>
    const layouts: Array<[string, SspCase, Record<string, string>, Layout, string | undefined]> = [
      ['Response and assertion signed', { 'saml20.sign.response': true }, {}, { responseSigned: true, assertionSigned: true, encrypted: false }, undefined],
      ['only the Response signed, GATEWAY_WANT_ASSERTIONS_SIGNED=false', { 'saml20.sign.assertion': false, 'saml20.sign.response': true }, { GATEWAY_WANT_ASSERTIONS_SIGNED: 'false' }, { responseSigned: true, assertionSigned: false, encrypted: false }, undefined],
      ['encrypted (AES-128-CBC), assertion signed', { 'assertion.encryption': true }, {}, { responseSigned: false, assertionSigned: false, encrypted: true }, undefined],
      ['encrypted, Response and assertion signed', { 'assertion.encryption': true, 'saml20.sign.response': true }, {}, { responseSigned: true, assertionSigned: false, encrypted: true }, undefined],
      ['encrypted, only the Response signed, GATEWAY_WANT_ASSERTIONS_SIGNED=false', { 'assertion.encryption': true, 'saml20.sign.assertion': false, 'saml20.sign.response': true }, { GATEWAY_WANT_ASSERTIONS_SIGNED: 'false' }, { responseSigned: true, assertionSigned: false, encrypted: true }, undefined]
    ]
    for (const [name, c, env, layout, todo] of layouts) {
      t.test(name, todo !== undefined ? { todo } : {}, async (t) => {
        const gw = await setup(t, c, env)
        const result = await signInAtSsp(gw, gw.browser(), `${BASE}/login`)
        t.same(layoutOf(result.response), layout, 'SimpleSAMLphp sent that layout (an encrypted assertion hides its own signature)')
        t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
        t.match(result.handoff?.identity, ALICE)
      })
    }
    t.test('the gateway metadata says WantAssertionsSigned="true": SimpleSAMLphp signs the assertion even when its own setting says not to', async (t) => {
      const gw = await setup(t, { 'saml20.sign.assertion': false, 'saml20.sign.response': true })
      t.match(await gw.metadata(), /WantAssertionsSigned="true"/)
      const result = await signInAtSsp(gw, gw.browser(), `${BASE}/login`)
      t.match(layoutOf(result.response), { assertionSigned: true }, 'the assertion is signed')
      t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
    })
  })

  t.test('NameID formats asked for with GATEWAY_NAMEID_FORMAT', async (t) => {
    for (const setting of Object.keys(FORMAT)) {
      t.test(setting, async (t) => {
        const gw = await setup(t, {}, { GATEWAY_NAMEID_FORMAT: setting })
        const browser = gw.browser()
        const result = await signInAtSsp(gw, browser, `${BASE}/login`)
        t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
        const session = await sessionOf(browser)
        if (setting === 'email') t.equal(session?.nameId, 'alice@example.org')
        else if (setting === 'persistent') t.match(session?.nameId, /^[0-9a-f]{40}$/, 'saml:PersistentNameID: a hash')
        else t.match(session?.nameId, /^_[0-9a-f]{40,}$/, 'saml:TransientNameID: random')
        t.equal(result.handoff?.identity?.sub, session?.nameId)
      })
    }
  })

  t.test('attribute names', async (t) => {
    for (const names of ['oid', 'urn'] as const) {
      t.test(names === 'oid' ? 'urn:oid: (core:AttributeMap name2oid)' : 'urn:mace:dir:attribute-def: (name2urn)', async (t) => {
        const gw = await setup(t, { names })
        const result = await signInAtSsp(gw, gw.browser(), `${BASE}/login`)
        t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
        t.match(result.handoff?.identity, ALICE)
      })
    }
  })
}

function logouts (t: Test, ctx: Ctx): void {
  const { setup, ssp, logSince } = ctx
  for (const binding of ['redirect', 'post'] as const) {
    t.test(`SP-initiated logout, ${binding} binding: SimpleSAMLphp validates the signed LogoutRequest and confirms`, async (t) => {
      const gw = await setup(t, {}, { GATEWAY_REQUEST_BINDING: binding, GATEWAY_NAMEID_FORMAT: 'persistent' }, { sloPostOnly: binding === 'post' })
      const browser = gw.browser()
      t.equal((await signInAtSsp(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
      const mark = ssp.log().length
      const out = await signOutHere(browser)
      const method = binding === 'post' ? 'POST' : 'GET'
      t.ok(browser.visited.includes(`${method} ${ssp.origin}/saml2/idp/SingleLogoutService.php`), `the LogoutRequest went by ${binding}`)
      t.ok(browser.visited.includes(`${method} ${BASE}/logout/callback`), `the LogoutResponse came back by ${binding}`)
      t.ok(out.trail.some((p) => p.url.startsWith(`${BASE}/logout/callback`) && p.status === 302), 'its LogoutResponse was accepted')
      t.equal(out.last.url, postLogoutPage(gw), 'and the person is on the post-logout page')
      t.notOk(gw.logs.some((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED'), 'SimpleSAMLphp confirmed the logout (Success)')
      t.notMatch(logSince(mark), /ERROR/, 'SimpleSAMLphp logged no error')
      const again = await signIn(gw, browser, `${BASE}/login`)
      t.ok(formsOf(again.last.body).some((f) => f.fields.some(([name]) => name === 'password')), 'the IdP session is over: it asks for the password again')
    })

    t.test(`IdP-initiated logout, ${binding} binding: the gateway ends the session, SimpleSAMLphp takes its LogoutResponse`, async (t) => {
      const gw = await setup(t, {}, { GATEWAY_NAMEID_FORMAT: 'persistent' }, { sloPostOnly: binding === 'post' })
      const browser = gw.browser()
      t.equal((await signInAtSsp(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
      const mark = ssp.log().length
      const done = `${ssp.origin}/logout-done`
      const out = await signOutAtIdp(browser, `${ssp.origin}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(done)}`, (url) => url.href === done)
      t.ok(browser.visited.includes(`${binding === 'post' ? 'POST' : 'GET'} ${BASE}/logout/callback`), `the LogoutRequest came by ${binding}`)
      t.ok(browser.visited.includes(`${binding === 'post' ? 'POST' : 'GET'} ${ssp.origin}/saml2/idp/SingleLogoutService.php`), `the LogoutResponse went back by ${binding}`)
      t.equal(out.slo?.status, binding === 'post' ? 200 : 302, 'the gateway answered the LogoutRequest')
      t.equal(out.last.url, done, 'SimpleSAMLphp finished its logout and went to ReturnTo')
      t.notMatch(logSince(mark), /ERROR/, 'SimpleSAMLphp logged no error (the LogoutResponse signature verified)')
      t.equal(await sessionOf(browser), undefined, 'no gateway session')
      t.ok(gw.logouts.calls.at(-1)?.identity?.sub, 'Motion was told, with a verified identity')
    })
  }
}

/** The IdP side configured by hand, or from the metadata URL, instead of a metadata file; SHA-1. */
function settings (t: Test, ctx: Ctx): void {
  const { setup, ssp, idpMetadata, spKeys } = ctx
  t.test('configured by hand (XC_SAML_ENTRYPOINT, XC_SAML_CERT, XC_SAML_LOGOUT_URL, GATEWAY_IDP_ISSUER) instead of metadata: login and logout', async (t) => {
    const gw = await startGateway(t, idpMetadata, spKeys, {}, true)
    t.equal(gw.config.idp.metadataFile, undefined, 'no IdP metadata')
    ssp.configure(await gw.metadata(), {})
    const browser = gw.browser()
    const result = await signInAtSsp(gw, browser, `${BASE}/login`)
    t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE)
    const out = await signOutHere(browser)
    t.ok(out.toIdp?.startsWith(`${ssp.origin}/saml2/idp/SingleLogoutService.php?`), 'the LogoutRequest went to XC_SAML_LOGOUT_URL')
    t.equal(out.last.url, postLogoutPage(gw), 'and SimpleSAMLphp answered')
    t.notOk(gw.logs.some((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED'), 'with Success')
  })

  t.test('GATEWAY_IDP_METADATA_URL: the gateway reads SimpleSAMLphp\'s metadata from metadata.php at start', async (t) => {
    const gw = await startGateway(t, idpMetadata, spKeys, { GATEWAY_IDP_METADATA_URL: ssp.metadataUrl })
    ssp.configure(await gw.metadata(), {})
    const result = await signInAtSsp(gw, gw.browser(), `${BASE}/login`)
    t.ok(result.trail.some((p) => p.url.startsWith(`${ssp.origin}/saml2/idp/SSOService.php?`)), 'the AuthnRequest went to the SSO endpoint of the fetched metadata')
    t.equal(result.acs?.status, 302, `accepted with the certificate from the fetched metadata ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE)
  })

  t.test('RSA-SHA1 signatures (signature.algorithm rsa-sha1): refused by name, accepted with GATEWAY_ALLOW_SHA1=true', async (t) => {
    const sha1 = { 'signature.algorithm': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' }
    const strict = await setup(t, sha1)
    const refused = await signInAtSsp(strict, strict.browser(), `${BASE}/login`)
    t.equal(refused.acs?.status, 400)
    t.equal(refused.code, 'SAML_WEAK_ALGORITHM')
    const allowed = await setup(t, sha1, { GATEWAY_ALLOW_SHA1: 'true' })
    const accepted = await signInAtSsp(allowed, allowed.browser(), `${BASE}/login`)
    t.equal(accepted.acs?.status, 302, `accepted ${accepted.code ?? ''}`)
  })
}
