// Lasso 2.8 (Debian's python3-lasso: the library under mod_auth_mellon and Authentic2) as the IdP:
// a small server on lasso.Server / lasso.Login / lasso.Logout (idps/lasso-idp.py), its own key,
// metadata exchanged both ways. Lasso itself verifies what the gateway sends it (signature verify
// hint FORCE: an unsigned or badly signed AuthnRequest, LogoutRequest or LogoutResponse is an
// error) and matches a LogoutRequest's NameID strongly against the one it issued.
import t, { type Test } from 'tap'
import { BASE, haveTools, makeKeyPair, missingTools, sloPostOnly, startGateway, startScriptedIdp, type ScriptedIdp } from './_harness.js'
import { layoutOf, postLogoutPage, sessionOf, signIn, signOutAtIdp, signOutHere } from './_flows.js'

const PACKAGES = 'python3-lasso openssl'
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success'
const ALICE = { email: 'alice@example.org', given_name: 'Alice', family_name: 'Example', name: 'Alice Example' }
const FORMAT = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'
}
interface Case { encrypt?: 'aes128' | 'aes256', sign_response?: boolean, nameid?: string }

// A real IdP process, a gateway per case and a browser walking every redirect: more than the suite's
// default two minutes per file on a busy machine.
t.setTimeout(300_000)

if (haveTools(t, 'Lasso', missingTools(['openssl', 'lasso']), PACKAGES)) {
  t.test('Lasso IdP', async (t) => {
    const ctx = await startScriptedIdp<Case>(t, 'lasso-idp.py', 'lasso')
    logins(t, ctx)
    signingLayouts(t, ctx)
    nameIds(t, ctx)
    logouts(t, ctx)
  })
}

function logins (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup, events, proc, idpMetadata, spKeys, dir } = ctx
  for (const binding of ['redirect', 'post'] as const) {
    t.test(`SP-initiated login, ${binding} binding: Lasso verifies the signed AuthnRequest; urn:oid names`, async (t) => {
      const gw = await setup(t, {}, { GATEWAY_REQUEST_BINDING: binding, GATEWAY_NAMEID_FORMAT: 'persistent' })
      const result = await signIn(gw, gw.browser(), `${BASE}/login?returnTo=/agent`)
      t.match(await events('authn_request'), [{ kind: 'authn_request', binding: binding === 'post' ? 'POST' : 'GET', signed: true }], 'Lasso took the AuthnRequest with its signature verified')
      t.equal(result.acs?.status, 302, `the ACS accepts the response ${result.code ?? ''}`)
      t.match(result.handoff?.identity, ALICE, 'email and names from the urn:oid: attributes')
      t.same(result.handoff?.body, { returnTo: '/agent' })
    })
  }

  t.test('an AuthnRequest signed with a key the SP metadata does not hold is refused by Lasso: it does check', async (t) => {
    const gw = await startGateway(t, idpMetadata, spKeys)
    await setup(t, {}, {}, makeKeyPair(dir, 'stranger-sp')) // Lasso now trusts the stranger's certificate for this entity ID
    const result = await signIn(gw, gw.browser(), `${BASE}/login`)
    t.equal(result.acs, undefined, 'no response came back')
    t.match(await events('authn_request'), [{ kind: 'error', path: '/sso/redirect', error: /signature/i }], 'Lasso: the signature does not verify')
  })

  t.test('IdP-initiated login with a RelayState', async (t) => {
    const gw = await setup(t, {})
    const result = await signIn(gw, gw.browser(), `${proc.origin}/idp-initiated?RelayState=${encodeURIComponent('/reports')}`)
    t.equal(result.acs?.status, 302, `the ACS accepts the unsolicited response ${result.code ?? ''}`)
    t.match(result.handoff?.identity, ALICE)
    t.same(result.handoff?.body, { returnTo: '/reports' })
  })
}

function signingLayouts (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup } = ctx
  t.test('signing and encryption layouts', async (t) => {
    const layouts: Array<[string, Case, ReturnType<typeof layoutOf>]> = [
      ['Response and assertion signed (Lasso\'s default)', {}, { responseSigned: true, assertionSigned: true, encrypted: false }],
      ['only the assertion signed', { sign_response: false }, { responseSigned: false, assertionSigned: true, encrypted: false }],
      ['encrypted with AES-128-CBC', { encrypt: 'aes128' }, { responseSigned: true, assertionSigned: false, encrypted: true }],
      ['encrypted with AES-256-CBC', { encrypt: 'aes256' }, { responseSigned: true, assertionSigned: false, encrypted: true }]
    ]
    for (const [name, c, layout] of layouts) {
      t.test(name, async (t) => {
        const gw = await setup(t, c)
        const result = await signIn(gw, gw.browser(), `${BASE}/login`)
        t.same(layoutOf(result.response), layout, 'Lasso sent that layout (an encrypted assertion hides its own signature)')
        t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
        t.match(result.handoff?.identity, ALICE)
      })
    }
  })
}

function nameIds (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup, events } = ctx
  t.test('NameID formats asked for with GATEWAY_NAMEID_FORMAT', async (t) => {
    for (const [setting, uri] of Object.entries(FORMAT)) {
      t.test(setting, async (t) => {
        const gw = await setup(t, {}, { GATEWAY_NAMEID_FORMAT: setting })
        const browser = gw.browser()
        const result = await signIn(gw, browser, `${BASE}/login`)
        t.equal(result.acs?.status, 302, `accepted ${result.code ?? ''}`)
        t.match(await events('authn_request'), [{ name_id_policy_format: uri, allow_create: true }], 'the AuthnRequest asks for it, AllowCreate="true"')
        const session = await sessionOf(browser)
        if (setting === 'email') t.equal(session?.nameId, 'alice@example.org')
        else t.match(session?.nameId, /^_[0-9A-F]{32,}$/i, 'an opaque identifier made by Lasso')
        t.equal(result.handoff?.identity?.sub, session?.nameId)
      })
    }
  })
}

function logouts (t: Test, ctx: ScriptedIdp<Case>): void {
  const { setup, events, proc, idpMetadata, spKeys } = ctx
  for (const binding of ['redirect', 'post'] as const) {
    t.test(`SP-initiated logout, ${binding} binding: Lasso verifies the LogoutRequest and matches the NameID with its qualifiers`, async (t) => {
      const gw = await setup(t, {}, { GATEWAY_REQUEST_BINDING: binding, GATEWAY_NAMEID_FORMAT: 'persistent' })
      const browser = gw.browser()
      t.equal((await signIn(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
      const [login] = await events('login')
      t.match(login?.name_id, /NameQualifier="[^"]+".*SPNameQualifier="[^"]+"|SPNameQualifier="[^"]+".*NameQualifier="[^"]+"/, 'Lasso issued a NameID with both qualifiers')
      const out = await signOutHere(browser)
      t.match(await events('logout_request', 'logout_request_refused'), [{ kind: 'logout_request', binding: binding === 'post' ? 'POST' : 'GET', signed: true, matched: true }],
        'Lasso verified the LogoutRequest and found the session of exactly that NameID')
      t.ok(browser.visited.includes(`${binding === 'post' ? 'POST' : 'GET'} ${BASE}/logout/callback`), `its LogoutResponse came back by ${binding}`)
      t.notOk(gw.logs.some((l) => l.code === 'SAML_LOGOUT_NOT_CONFIRMED'), 'Success: the gateway did not warn')
      t.equal(out.last.url, postLogoutPage(gw), 'the person is on the post-logout page')
    })

    t.test(`IdP-initiated logout, ${binding} binding: the gateway ends the session and Lasso verifies its LogoutResponse`, async (t) => {
      // Over POST the IdP's metadata offers POST only, so the gateway answers by POST as well.
      const gw = await setup(t, {}, { GATEWAY_NAMEID_FORMAT: 'persistent' }, spKeys, binding === 'post' ? sloPostOnly(idpMetadata) : idpMetadata)
      const browser = gw.browser()
      t.equal((await signIn(gw, browser, `${BASE}/login`)).acs?.status, 302, 'signed in')
      const out = await signOutAtIdp(browser, `${proc.origin}/logout-initiate?binding=${binding}`)
      t.ok(browser.visited.includes(`${binding === 'post' ? 'POST' : 'GET'} ${BASE}/logout/callback`), `the LogoutRequest came by ${binding}`)
      t.equal(out.slo?.status, binding === 'post' ? 200 : 302, `the SLO endpoint answers with a LogoutResponse to the IdP (${binding === 'post' ? 'an auto-posted form' : 'a redirect'})`)
      t.match(await events('logout_response', 'logout_response_error'), [{ kind: 'logout_response', binding: binding === 'post' ? 'POST' : 'GET', status: SUCCESS, signed: true }],
        `Lasso verified the signed LogoutResponse, by ${binding}: Success`)
      t.equal(await sessionOf(browser), undefined, 'the gateway session is gone')
      t.ok(gw.logouts.calls.at(-1)?.identity?.sub, 'Motion was told, with a verified identity')
    })
  }
}
