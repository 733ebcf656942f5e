// The gateway attacking itself: every attack of the generator, thrown over HTTP at the ACS and at
// the SLO endpoint (POST and Redirect bindings) of a gateway where a victim is signed in. Each must
// end in 4xx with a stable code, set no session cookie, call no upstream and end no session; a
// document that stays valid (a comment in NameID) must be read as its FULL text.
//
// The outcomes are the table in SECURITY.md: this test fails when they change.
//   UPDATE_SECURITY_MD=1 npx tap test/attacks/attacks.test.ts    rewrites the table
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { REPO_ROOT, entraClaims, esc } from '../helpers/idp.js'
import { logoutRequestXml, postValue, redirectQuery } from '../helpers/idp-logout.js'
import { loginThroughIdp, newBrowser, send } from '../helpers/login.js'
import { ATTACKER, LOOKALIKE, VICTIM, catalogue, querySignatureStatus, signatureStatus, type Attack } from './_generator.js'
import { KNOWN_CODES, harness, throwAt, type Endpoint, type Harness, type Observed } from './_harness.js'
import { renderTable, tableIn, withTable, type TableRow } from './_table.js'

const SECURITY_MD = path.join(REPO_ROOT, 'SECURITY.md')
const UPDATE = process.env.UPDATE_SECURITY_MD === '1'
const ENDPOINTS: readonly Endpoint[] = ['ACS', 'SLO POST', 'SLO Redirect']

const attacks = catalogue()

const genuineSignature = (attack: Attack): string => attack.redirectQuery !== undefined
  ? `${querySignatureStatus(attack.redirectQuery)} (query)`
  : signatureStatus(attack.xml)

/** Where the attack's document is meant to go: a login response to the ACS, a logout message to the SLO endpoint. */
const homeOf = (attack: Attack): Endpoint =>
  !attack.family.startsWith('logout') ? 'ACS' : attack.redirectQuery !== undefined ? 'SLO Redirect' : 'SLO POST'

t.test('the wrapping attacks are real: the IdP signature still verifies under plain xml-crypto', async (t) => {
  t.ok(attacks.length >= 60, `${attacks.length} attacks`)
  t.same(attacks.filter((a) => a.id.startsWith('xsw')).map((a) => a.id), ['xsw1', 'xsw2', 'xsw3', 'xsw4', 'xsw5', 'xsw6', 'xsw7', 'xsw8'])
  t.equal(new Set(attacks.map((a) => a.id)).size, attacks.length, 'ids are unique')
  for (const attack of attacks.filter((a) => a.keepsGenuineSignature)) {
    t.equal(genuineSignature(attack).replace(' (query)', ''), 'IdP key ✓', attack.id)
  }
})

/** What happened, in words, for the table; and the assertions every attack must pass. */
function judge (t: Test, attack: Attack, o: Observed): string {
  const accepted = attack.readAs !== undefined && o.endpoint === homeOf(attack)
  const cell = describe(o)
  if (accepted && o.endpoint === 'ACS') {
    // Valid after the edit: it signs someone in, but as the FULL signed text, never a truncation.
    t.equal(o.status, 302, `${o.endpoint}: the upstream's answer relayed`)
    t.equal(o.handoffs.length, 1, `${o.endpoint}: one handoff`)
    t.equal(o.handoffs[0]?.identity?.sub, attack.readAs, `${o.endpoint}: sub is the full NameID`)
    t.equal(o.handoffs[0]?.identity?.email, attack.readAs, `${o.endpoint}: email is the full value`)
    t.not(o.handoffs[0]?.identity?.sub, VICTIM, `${o.endpoint}: never the victim`)
    t.same(o.sessionsEnded, [], `${o.endpoint}: no session ended`)
    return cell
  }
  if (accepted) {
    t.equal(o.status, 302, `${o.endpoint}: LogoutResponse sent back`)
    t.same(o.sessionsEnded, [attack.readAs], `${o.endpoint}: only the sessions of the full NameID ended`)
    t.ok(o.logoutNotices.every((n) => n.identity?.sub === attack.readAs), `${o.endpoint}: the upstream told about ${attack.readAs} only`)
    t.equal(o.handoffs.length, 0, `${o.endpoint}: no handoff`)
    t.notOk(o.sessionCookie, `${o.endpoint}: no session cookie`)
    return cell
  }
  t.ok(o.status >= 400 && o.status < 500, `${o.endpoint}: 4xx (${o.status})`)
  t.ok(o.code !== undefined && KNOWN_CODES.has(o.code), `${o.endpoint}: a stable code (${String(o.code)})`)
  t.notOk(o.sessionCookie, `${o.endpoint}: no session cookie`)
  t.equal(o.handoffs.length, 0, `${o.endpoint}: no handoff to the upstream`)
  t.equal(o.logoutNotices.length, 0, `${o.endpoint}: no logout notice to the upstream`)
  t.same(o.sessionsEnded, [], `${o.endpoint}: no session ended`)
  return cell
}

function describe (o: Observed): string {
  const parts = [o.code !== undefined ? `${o.status} ${o.code}` : `${o.status}`]
  if (o.handoffs.length > 0) parts.push(`signed in as ${o.handoffs.map((h) => String(h.identity?.sub)).join(', ')}`)
  if (o.sessionsEnded.length > 0) parts.push(`ended the session of ${o.sessionsEnded.join(', ')}`)
  return parts.join(': ')
}

const settingsOf = (attack: Attack): string =>
  attack.env === undefined ? 'default' : Object.entries(attack.env).map(([k, v]) => `${k.replace(/^GATEWAY_/, '')}=${v}`).join(' ')

t.test('every attack, at the ACS and at the SLO endpoint, over HTTP', async (t) => {
  const harnesses = new Map<string, Harness>()
  const rows: TableRow[] = []
  for (const attack of attacks) {
    await t.test(`${attack.id}: ${attack.title}`, async (t) => {
      const key = settingsOf(attack)
      let h = harnesses.get(key)
      if (h === undefined) harnesses.set(key, h = await harness((t.parent ?? t) as Test, attack.env))
      const cells: Record<string, string> = {}
      for (const endpoint of ENDPOINTS) cells[endpoint] = judge(t, attack, await throwAt(h, attack, endpoint))
      rows.push({
        id: attack.id,
        family: attack.family,
        title: attack.title,
        signature: genuineSignature(attack),
        settings: key,
        acs: cells.ACS,
        sloPost: cells['SLO POST'],
        sloRedirect: cells['SLO Redirect']
      })
    })
  }

  const table = renderTable(rows)
  const markdown = fs.readFileSync(SECURITY_MD, 'utf8')
  if (UPDATE) {
    fs.writeFileSync(SECURITY_MD, withTable(markdown, table))
    t.comment('SECURITY.md: attack table rewritten')
  } else {
    t.equal(tableIn(markdown), table, 'the table in SECURITY.md is what happened (a change in outcome: look, then UPDATE_SECURITY_MD=1)')
  }
})

t.test('the identities the generator uses are distinct', async (t) => {
  t.equal(new Set([VICTIM, ATTACKER, LOOKALIKE]).size, 3)
  t.ok(LOOKALIKE.startsWith(VICTIM), 'the look-alike begins with the victim: truncation would make it the victim')
})

t.test('a genuine LogoutRequest used a second time, within its window, ends nothing (SAML_REPLAY)', async (t) => {
  const h = await harness(t)
  const json = { accept: 'application/json' }
  for (const binding of ['Redirect', 'POST'] as const) {
    const xml = logoutRequestXml({ nameId: VICTIM, id: `_lr_twice_${binding}` })
    const deliver = async () => binding === 'Redirect'
      ? await send(h.app, newBrowser(), { url: `/api/auth/saml/logout/callback?${redirectQuery(xml)}`, headers: json })
      : await send(h.app, newBrowser(), { url: '/api/auth/saml/logout/callback', form: { SAMLRequest: postValue(xml) }, headers: json })
    const victim = newBrowser()
    const asVictim = { nameIdXml: esc(VICTIM), attributes: entraClaims(VICTIM) }
    await loginThroughIdp(h.app, victim, asVictim)
    t.equal((await deliver()).statusCode, 302, `${binding}: the first delivery ends the session`)
    t.equal((await send(h.app, victim, { url: '/api/auth/saml/session', headers: json })).statusCode, 401)
    await loginThroughIdp(h.app, victim, asVictim)
    const notices = h.logouts.calls.length
    const again = await deliver()
    t.equal(again.statusCode, 400, `${binding}: the second is refused`)
    t.equal(again.json().error, 'SAML_REPLAY')
    t.equal((await send(h.app, victim, { url: '/api/auth/saml/session', headers: json })).statusCode, 200, `${binding}: the new session stays`)
    t.equal(h.logouts.calls.length, notices, `${binding}: the upstream is not told`)
  }
})
