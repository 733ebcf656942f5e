// pysaml2 7 (Debian's python3-pysaml2, the library under SATOSA and many Python IdPs) as the IdP:
// a small server on pysaml2's own saml2.server.Server (idps/pysaml2-idp.py), its own key, metadata
// exchanged both ways. pysaml2 itself verifies what the gateway sends it: the AuthnRequest's and
// LogoutRequest's signatures (query string or enveloped), the LogoutResponse's.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { BASE, haveTools, makeKeyPair, missingTools, sloPostOnly, startGateway, startScriptedIdp, type ScriptedIdp } from './_harness.js'
import { layoutOf, postLogoutPage, sessionOf, signIn, signOutAtIdp, signOutHere } from './_flows.js'

const PACKAGES = 'python3-pysaml2 xmlsec1 openssl'
const FORMAT = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'
}
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success'
const ALICE = { email: 'alice@example.org', given_name: 'Alice', family_name: 'Example', name: 'Alice Example' }
interface Case { sign_response?: boolean, sign_assertion?: boolean, encrypt_assertion?: boolean, name_form?: 'uri' | 'basic', nameid?: string, require_signed?: boolean, slo_binding?: 'redirect' | 'post' }

// A real IdP process, a gateway per case and a browser walking every redirect: more than the suite's
// default two minutes per file on a busy machine.
t.setTimeout(300_000)

if (haveTools(t, 'pysaml2', missingTools(['openssl', 'xmlsec1', 'pysaml2']), PACKAGES)) {
  t.test('pysaml2 IdP', async (t) => {
    const ctx = await startScriptedIdp<Case>(t, 'pysaml2-idp.py', 'pysaml2')
    logins(t, ctx)
    signingLayouts(t, ctx)
    nameIdsAndNames(t, ctx)
    logouts(t, ctx)
  })
}

function logins (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup, events, proc, idpMetadata, spKeys, dir } = ctx
  t.test('SP-initiated login, Redirect binding: pysaml2 verifies the signed AuthnRequest; signed assertion; urn:oid names', async (t) => {
    const gw = await setup(t, { sign_assertion: true, require_signed: true })
    const result = await signIn(gw, gw.browser(), `${BASE}/login?returnTo=/agent`)
    t.equal(result.acs?.status, 302, `the ACS accepts the response ${result.code ?? ''}`)
    const [authn] = await events('authn_request')
    t.match(authn, { kind: 'authn_request', binding: /HTTP-Redirect$/, signed: true }, 'pysaml2 verified the query-string signature with the certificate from the SP metadata')
    t.equal(result.handoff?.identity?.sub, 'alice', 'NameID as the IdP chose it for format unspecified')
    t.match(result.handoff?.identity, ALICE, 'email and names from the urn:oid: attributes')
    t.same(result.handoff?.body, { returnTo: '/agent' })
  })

  t.test('an AuthnRequest signed with a key the SP metadata does not hold is refused by pysaml2: it does check', async (t) => {
    const gw = await startGateway(t, idpMetadata, spKeys)
    // pysaml2 now trusts a stranger's certificate for this entity ID, not the gateway's.
    await setup(t, { sign_assertion: true, require_signed: true }, {}, makeKeyPair(dir, 'stranger-sp'))
    const result = await signIn(gw, gw.browser(), `${BASE}/login`)
    t.equal(result.acs, undefined, 'no response came back')
    t.match(await events('authn_request'), [{ kind: 'error', error: /bad query signature/ }], 'pysaml2: bad signature')
  })

  t.test('SP-initiated login, POST binding: pysaml2 verifies the enveloped signature of the AuthnRequest', async (t) => {
    const gw = await setup(t, { sign_assertion: true, require_signed: true }, { GATEWAY_REQUEST_BINDING: 'post' })
    const result = await signIn(gw, gw.browser(), `${BASE}/login?returnTo=/agent`)
    t.equal(result.acs?.status, 302, `the ACS accepts the response ${result.code ?? ''}`)
    t.match(await events('authn_request'), [{ kind: 'authn_request', binding: /HTTP-POST$/, signed: true }])
    t.match(result.handoff?.identity, ALICE)
  })

  t.test('forceAuthn=1 reaches pysaml2 as ForceAuthn="true"', async (t) => {
    const gw = await setup(t, { sign_assertion: true, require_signed: true })
    const result = await signIn(gw, gw.browser(), `${BASE}/login?forceAuthn=1`)
    t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
    t.match(await events('authn_request'), [{ kind: 'authn_request', force_authn: 'true', signed: true }])
  })

  t.test('IdP-initiated login with a RelayState', async (t) => {
    const gw = await setup(t, { sign_assertion: true })
    const result = await signIn(gw, gw.browser(), `${proc.origin}/idp-initiated?RelayState=${encodeURIComponent('/reports')}`)
    t.equal(result.acs?.status, 302, `the ACS accepts the unsolicited response ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE)
    t.same(result.handoff?.body, { returnTo: '/reports' }, 'the RelayState is where the person lands')
  })
}

function signingLayouts (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup } = ctx
  t.test('signing layouts', async (t) => {
    t.test('Response and assertion both signed', async (t) => {
      const gw = await setup(t, { sign_response: true, sign_assertion: true })
      const result = await signIn(gw, gw.browser(), `${BASE}/login`)
      t.same(layoutOf(result.response), { responseSigned: true, assertionSigned: true, encrypted: false }, 'pysaml2 sent that layout')
      t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
      t.match(result.handoff?.identity, ALICE)
    })
    t.test('only the Response signed: refused by default, accepted with GATEWAY_WANT_ASSERTIONS_SIGNED=false', async (t) => {
      const strict = await setup(t, { sign_response: true, sign_assertion: false })
      const refused = await signIn(strict, strict.browser(), `${BASE}/login`)
      t.equal(refused.acs?.status, 400, 'refused')
      t.equal(refused.code, 'SAML_UNSIGNED_ASSERTION')
      const relaxed = await setup(t, { sign_response: true, sign_assertion: false }, { GATEWAY_WANT_ASSERTIONS_SIGNED: 'false' })
      const accepted = await signIn(relaxed, relaxed.browser(), `${BASE}/login`)
      t.same(layoutOf(accepted.response), { responseSigned: true, assertionSigned: false, encrypted: false }, 'pysaml2 sent that layout')
      t.equal(accepted.acs?.status, 302, `accepted ${accepted.code ?? ''}`)
      t.match(accepted.handoff?.identity, ALICE)
    })
    t.test('encrypted assertion (pysaml2 7 encrypts with 3DES-CBC only): refused by name, accepted with GATEWAY_ALLOW_3DES=true', async (t) => {
      const strict = await setup(t, { sign_assertion: true, encrypt_assertion: true })
      const refused = await signIn(strict, strict.browser(), `${BASE}/login`)
      t.equal(refused.code, 'SAML_WEAK_ALGORITHM', 'the refusal names the algorithm as the reason')
      t.ok(strict.logs.some((l) => JSON.stringify(l).includes('http://www.w3.org/2001/04/xmlenc#tripledes-cbc')), 'the log names the URI')
      const allowed = await setup(t, { sign_assertion: true, encrypt_assertion: true }, { GATEWAY_ALLOW_3DES: 'true' })
      const accepted = await signIn(allowed, allowed.browser(), `${BASE}/login`)
      t.equal(accepted.acs?.status, 302, `accepted ${accepted.code ?? ''}`)
      t.match(accepted.handoff?.identity, ALICE)
    })
    t.test('encrypted assertion, only the Response signed (GATEWAY_WANT_ASSERTIONS_SIGNED=false, GATEWAY_ALLOW_3DES=true)', async (t) => {
      const gw = await setup(t, { sign_response: true, sign_assertion: false, encrypt_assertion: true }, { GATEWAY_WANT_ASSERTIONS_SIGNED: 'false', GATEWAY_ALLOW_3DES: 'true' })
      const result = await signIn(gw, gw.browser(), `${BASE}/login`)
      t.same(layoutOf(result.response), { responseSigned: true, assertionSigned: false, encrypted: true }, 'pysaml2 sent that layout')
      t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
      t.match(result.handoff?.identity, ALICE)
    })
  })
}

function nameIdsAndNames (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup, events } = ctx
  t.test('NameID formats asked for with GATEWAY_NAMEID_FORMAT', async (t) => {
    for (const [setting, uri] of Object.entries(FORMAT)) {
      t.test(setting, async (t) => {
        const gw = await setup(t, { sign_assertion: true }, { GATEWAY_NAMEID_FORMAT: setting })
        const browser = gw.browser()
        const result = await signIn(gw, browser, `${BASE}/login`)
        t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
        t.match(await events('authn_request'), [{ name_id_policy_format: uri, allow_create: 'true' }], 'the AuthnRequest asks for it, AllowCreate="true"')
        const session = await sessionOf(browser)
        if (setting === 'email') t.equal(session?.nameId, 'alice@example.org')
        else if (setting === 'persistent') t.equal(session?.nameId, 'p-7d3f0c1e9a')
        else t.match(session?.nameId, /^_t[0-9a-f]{32}$/)
        t.equal(result.handoff?.identity?.sub, session?.nameId, 'sub is the NameID')
      })
    }
  })

  t.test('attribute names urn:mace:dir:attribute-def: (NameFormat basic)', async (t) => {
    const gw = await setup(t, { sign_assertion: true, name_form: 'basic' })
    const result = await signIn(gw, gw.browser(), `${BASE}/login`)
    t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE, 'email and names from the urn:mace:dir:attribute-def: names')
  })
}

function logouts (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup, events, proc, idpMetadata, spKeys } = ctx
  t.test('a LogoutResponse that is not Success: the gateway warns and tells the person the IdP may still have a session', async (t) => {
    const gw = await setup(t, { sign_assertion: true, nameid: 'persistent', require_signed: true })
    const browser = gw.browser()
    t.equal((await signIn(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
    // The IdP forgets its sessions (as after a restart): it answers our LogoutRequest with Requester.
    await (await request(`${proc.origin}/control`, { method: 'POST', body: JSON.stringify({ sp_metadata: await gw.metadata(), case: { sign_assertion: true } }) })).body.dump()
    const out = await signOutHere(browser)
    t.match(await events('logout_request'), [{ kind: 'logout_request', matched: false }], 'pysaml2 found no session to end')
    t.ok(gw.logs.some((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED' && l.level === 40), 'a warning in the log')
    t.match(out.last.body, /did not confirm/, 'the page says the IdP did not confirm the logout')
    t.equal(await sessionOf(browser), undefined, 'the gateway session is gone all the same')
  })

  for (const binding of ['redirect', 'post'] as const) {
    t.test(`SP-initiated logout, ${binding} binding: pysaml2 matches the persistent NameID with its qualifiers and verifies the signature`, async (t) => {
      const gw = await setup(t, { sign_assertion: true, nameid: 'persistent', require_signed: true, slo_binding: binding }, { GATEWAY_REQUEST_BINDING: binding })
      const browser = gw.browser()
      t.equal((await signIn(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
      const out = await signOutHere(browser)
      t.match(await events('logout_request'), [{ kind: 'logout_request', binding: new RegExp(binding === 'post' ? 'HTTP-POST$' : 'HTTP-Redirect$'), signed: true, matched: true }],
        'pysaml2 took the signed LogoutRequest and found the session of that exact NameID')
      t.equal(out.last.url, postLogoutPage(gw), 'the LogoutResponse brought the person to the post-logout page')
      t.notOk(gw.logs.some((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED'), 'the IdP confirmed the logout')
      t.equal(await sessionOf(browser), undefined, 'no gateway session')
    })

    t.test(`IdP-initiated logout, ${binding} binding: the gateway ends the session and pysaml2 verifies its LogoutResponse`, async (t) => {
      // Over POST the IdP's metadata offers POST only, so the gateway answers by POST as well.
      const gw = await setup(t, { sign_assertion: true, nameid: 'persistent', require_signed: true }, {}, spKeys, binding === 'post' ? sloPostOnly(idpMetadata) : idpMetadata)
      const browser = gw.browser()
      t.equal((await signIn(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
      const out = await signOutAtIdp(browser, `${proc.origin}/logout-initiate?binding=${binding}`)
      t.equal(out.slo?.status, binding === 'post' ? 200 : 302, `the SLO endpoint answers with a LogoutResponse to the IdP (${binding === 'post' ? 'an auto-posted form' : 'a redirect'})`)
      t.match(await events('logout_response'), [{ kind: 'logout_response', binding: new RegExp(binding === 'post' ? 'HTTP-POST$' : 'HTTP-Redirect$'), status: SUCCESS, signed: true }],
        `pysaml2 verified the signed LogoutResponse, by ${binding}: Success`)
      t.equal(await sessionOf(browser), undefined, 'the gateway session is gone')
      t.equal(gw.logouts.calls.at(-1)?.identity?.sub, 'p-7d3f0c1e9a', 'Motion was told, with a verified identity')
    })
  }
}
