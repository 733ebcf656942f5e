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

t.test('POST: exactly one of SAMLRequest and SAMLResponse, as text or as the form\'s bytes', async (t) => {
  const value = postValue(logoutRequestXml({ nameId: TEST_NAME_ID, issueInstant: issued }))
  const bytes = { formEncoded: [Buffer.from(encodeURIComponent(value))] }
  t.equal(readPostLogout({ SAMLRequest: value }, exp, TEST_NOW).kind, 'request', 'the request as text')
  t.equal(readPostLogout({ SAMLRequest: bytes, RelayState: '/x' }, exp, TEST_NOW).kind, 'request', 'as the form\'s bytes')
  for (const [name, body] of Object.entries({
    neither: { RelayState: '/x' },
    'both, as text': { SAMLRequest: value, SAMLResponse: value },
    'both, one as bytes': { SAMLRequest: bytes, SAMLResponse: value },
    'an empty request': { SAMLRequest: '' },
    'empty bytes': { SAMLRequest: { formEncoded: [] } },
    'a number': { SAMLRequest: 7 }
  })) {
    t.throws(() => readPostLogout(body, exp, TEST_NOW), { code: 'SAML_MISSING_MESSAGE' }, name)
  }
})
