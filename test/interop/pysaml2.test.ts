// pysaml2 7 (Debian's python3-pysaml2, the library under SATOSA and many Python IdPs) as the IdP:
// a small server on pysaml2's own saml2.server.Server (idps/pysaml2-idp.py), its own key, metadata
// exchanged both ways. pysaml2 itself verifies what the gateway sends it.
import t from 'tap'
import { join } from 'node:path'
import { request } from 'undici'
import { BASE, IDPS_DIR, PYTHON, describeIdp, haveTools, makeKeyPair, missingTools, startGateway, startProcess, tempDir, type IdpDescription, type IdpProcess, type KeyPair } from './_harness.js'
import { redirectMessage, sessionOf, signIn, signOutAtIdp, signOutHere } from './_flows.js'

const PACKAGES = 'python3-pysaml2 xmlsec1 openssl'
interface IdpEvent { kind: string, [field: string]: unknown }
interface Case { sign_response?: boolean, sign_assertion?: boolean, encrypt_assertion?: boolean, name_form?: 'uri' | 'basic', nameid?: string, require_signed?: boolean, slo_binding?: 'redirect' | 'post' }

if (haveTools(t, 'pysaml2', missingTools(['openssl', 'xmlsec1', 'pysaml2']), PACKAGES)) {
  t.test('pysaml2 IdP', async (t) => {
    const dir = tempDir(t, 'saml-gateway-pysaml2-')
    const idpKeys = makeKeyPair(dir, 'pysaml2-idp')
    const spKeys = makeKeyPair(dir, 'gateway-sp')
    const proc = await startProcess(t, PYTHON, [join(IDPS_DIR, 'pysaml2-idp.py'), dir, idpKeys.keyFile, idpKeys.certFile])
    const idp = describeIdp(await (await request(`${proc.origin}/metadata`)).body.text())
    const setup = (c: Case, env: Record<string, string> = {}, sp: KeyPair | undefined = spKeys) => configure(t, proc, idp, c, env, sp)
    const events = async (): Promise<IdpEvent[]> => await (await request(`${proc.origin}/events`)).body.json() as IdpEvent[]

    t.test('SP-initiated login: signed AuthnRequest verified by pysaml2, signed assertion, urn:oid attribute names', async (t) => {
      const gw = await setup({ sign_assertion: true, require_signed: true })
      const result = await signIn(gw, gw.browser(), `${BASE}/login?returnTo=/agent`)
      console.error(result.trail.map((p) => p.status + ' ' + p.url.slice(0, 100) + ' ' + p.body.slice(0, 300)), JSON.stringify(await events()).slice(0, 3000))
      t.equal(result.acs?.status, 302, `the ACS accepts the response (${result.code ?? ''})`)
      const request = (await events()).find((e) => e.kind === 'authn_request')
      t.equal(request?.signed, true, 'pysaml2 verified the AuthnRequest query signature against the SP metadata certificate')
      const identity = result.handoff?.identity
      t.equal(identity?.sub, 'alice@example.org')
      t.match(identity, { email: 'alice@example.org', given_name: 'Alice', family_name: 'Example', name: 'Alice Example' }, 'claims from urn:oid names')
      t.same(result.handoff?.body, { returnTo: '/agent' })
    })
  })
}

async function configure (t: Parameters<Parameters<typeof tap.test>[1]>[0], proc: IdpProcess, idp: IdpDescription, c: Case, env: Record<string, string>, sp: KeyPair | undefined) {
  const gw = await startGateway(t, idp, sp, env)
  const res = await request(`${proc.origin}/control`, { method: 'POST', body: JSON.stringify({ sp_metadata: await gw.metadata(), case: c }) })
  if (res.statusCode !== 200) throw new Error(`pysaml2 IdP refused the SP metadata: ${await res.body.text()}`)
  await res.body.dump()
  return gw
}
const tap = t
void redirectMessage; void sessionOf; void signOutAtIdp; void signOutHere
