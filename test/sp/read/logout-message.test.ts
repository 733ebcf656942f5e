// A LogoutRequest is taken only while fresh: IssueInstant within the clock skew of now, and not
// older than LOGOUT_REQUEST_MAX_AGE_MS (plus the skew). Found by test/attacks: a signed LogoutRequest
// replayed an hour later still ended the person's sessions.
import t from 'tap'
import { LOGOUT_REQUEST_MAX_AGE_MS, readPostLogout, readRedirectLogout, type LogoutExpectations } from '../../../src/sp/read/logout-message.js'
import { IDP_CERT, TEST_NAME_ID, TEST_NOW, TEST_VALIDATION } from '../../helpers/idp.js'
import { ENTRA_LOGOUT_ISSUER, SLO_URL, logoutRequestXml, postValue, redirectQuery } from '../../helpers/idp-logout.js'

const SKEW = 180_000
const exp: LogoutExpectations = {
  ...TEST_VALIDATION,
  idpIssuers: [ENTRA_LOGOUT_ISSUER],
  idpCerts: [IDP_CERT],
  sloUrl: SLO_URL,
  clockSkewMs: SKEW
}
const issued = new Date(TEST_NOW).toISOString()
const bindings = {
  Redirect: (xml: string, now: number) => readRedirectLogout(redirectQuery(xml), exp, now),
  POST: (xml: string, now: number) => readPostLogout({ SAMLRequest: postValue(xml) }, exp, now)
}

for (const [binding, read] of Object.entries(bindings)) {
  t.test(`${binding}: IssueInstant within the skew of now, and at most ${LOGOUT_REQUEST_MAX_AGE_MS / 60_000} min old`, async (t) => {
    const xml = logoutRequestXml({ nameId: TEST_NAME_ID, issueInstant: issued })
    const limit = TEST_NOW + LOGOUT_REQUEST_MAX_AGE_MS + SKEW
    const fresh = read(xml, TEST_NOW)
    t.equal(fresh.kind, 'request')
    t.equal(fresh.kind === 'request' && fresh.refusedAfter, limit, 'refusedAfter: how long its ID must be remembered')
    t.equal(read(xml, limit - 1).kind, 'request', 'the last millisecond')
    t.throws(() => read(xml, limit), { code: 'SAML_EXPIRED' }, 'stale at the limit')
    t.throws(() => read(xml, TEST_NOW + 3_600_000), { code: 'SAML_EXPIRED' }, 'an hour later')
    t.equal(read(xml, TEST_NOW - SKEW).kind, 'request', 'issued up to the skew in the future')
    t.throws(() => read(xml, TEST_NOW - SKEW - 1), { code: 'SAML_NOT_YET_VALID' }, 'issued further in the future')
  })

  t.test(`${binding}: an earlier NotOnOrAfter shortens the window`, async (t) => {
    const notOnOrAfter = new Date(TEST_NOW + 60_000).toISOString()
    const xml = logoutRequestXml({ nameId: TEST_NAME_ID, issueInstant: issued }).replace(' Version="2.0"', ` Version="2.0" NotOnOrAfter="${notOnOrAfter}"`)
    const fresh = read(xml, TEST_NOW)
    t.equal(fresh.kind === 'request' && fresh.refusedAfter, TEST_NOW + 60_000 + SKEW)
    t.throws(() => read(xml, TEST_NOW + 60_000 + SKEW), { code: 'SAML_EXPIRED' })
  })
}
