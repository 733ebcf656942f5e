// Every rule of validateLoginResponse, each with an accepted and a rejected case, on a fixed clock.
import t, { type Test } from 'tap'
import { validateLoginResponse } from '../../../src/sp/read/response.js'
import type { ResponseExpectations } from '../../../src/sp/types.js'
import {
  ATTACKER_CERT, CLAIM, IDP_CERT, TEST_ACS, TEST_IDP_ISSUER, TEST_NAME_ID, TEST_NOW, TEST_REQUEST_ID,
  TEST_SP_ENTITY_ID, buildResponse, buildResponseXml, buildUnsignedXml, entraClaims, signXml,
  testExpectations, toBase64, type ResponseOptions
} from '../../helpers/idp.js'

const SKEW = 180_000
const MINUTE = 60_000

function accepts (b64: string, exp: ResponseExpectations = testExpectations(), now = TEST_NOW) {
  return validateLoginResponse(b64, exp, now)
}

function rejects (t: Test, b64: string, code: string, exp: ResponseExpectations = testExpectations(), now = TEST_NOW): void {
  t.throws(() => validateLoginResponse(b64, exp, now), { code }, `rejected with ${code}`)
}

const response = (o: ResponseOptions = {}): string => buildResponse(o)
/** The signed Assertion element of a response, as a string. */
const assertionOf = (xml: string): string => xml.slice(xml.indexOf('<Assertion '), xml.indexOf('</Assertion>') + '</Assertion>'.length)

t.test('an Entra-shaped response gives back the signed values', async (t) => {
  const result = accepts(response({
    responseId: '_resp1',
    assertionId: '_assert1',
    sessionIndex: '_session1',
    times: { sessionNotOnOrAfter: 8 * 60 * MINUTE }
  }))
  t.same(result, {
    responseId: '_resp1',
    assertionId: '_assert1',
    issuer: TEST_IDP_ISSUER,
    nameId: TEST_NAME_ID,
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    sessionIndex: '_session1',
    inResponseTo: TEST_REQUEST_ID,
    notOnOrAfter: TEST_NOW + 5 * MINUTE, // min(SubjectConfirmationData 5 min, Conditions 1 h)
    sessionNotOnOrAfter: TEST_NOW + 8 * 60 * MINUTE,
    authnInstant: TEST_NOW - 1000,
    authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password',
    attributes: entraClaims()
  })
  t.same(result.attributes[CLAIM.groups], ['7b0c9a51-4c55-4a3c-9d3a-1f0e5d1c2b3a', 'a3d4f1e2-0b6c-4d8e-9f7a-2c1b0e9d8f6a'])
})

t.test('size: maxMessageBytes', async (t) => {
  const b64 = response()
  accepts(b64, testExpectations({ maxMessageBytes: b64.length }))
  rejects(t, b64, 'SAML_TOO_LARGE', testExpectations({ maxMessageBytes: b64.length - 1 }))
})

t.test('strict base64', async (t) => {
  const b64 = response()
  accepts(b64.replace(/(.{76})/g, '$1\r\n'), undefined) // wrapped lines are fine
  rejects(t, b64.slice(0, 40) + '!' + b64.slice(40), 'SAML_MALFORMED')
  rejects(t, b64.replace(/\+/g, '-').replace(/\//g, '_') + '-', 'SAML_MALFORMED') // base64url
  rejects(t, b64.replace(/=+$/, '') + 'A', 'SAML_MALFORMED') // bad length
  rejects(t, Buffer.from([0xff, 0xfe, 0x3c, 0x00]).toString('base64'), 'SAML_MALFORMED') // not UTF-8
  rejects(t, '', 'SAML_MALFORMED')
})

t.test('no DOCTYPE, no ENTITY', async (t) => {
  const xml = buildResponseXml()
  accepts(toBase64(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`))
  rejects(t, toBase64(`<!DOCTYPE samlp:Response>${xml}`), 'SAML_DOCTYPE')
  rejects(t, toBase64(`<!DOCTYPE r [<!ENTITY who "alice@contoso.com">]>${xml.replace(`>${TEST_NAME_ID}<`, '>&who;<')}`), 'SAML_DOCTYPE')
  rejects(t, toBase64(`<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xml.replace(`>${TEST_NAME_ID}<`, '>&xxe;<')}`), 'SAML_DOCTYPE')
  rejects(t, toBase64(`<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>${xml}`), 'SAML_DOCTYPE')
  rejects(t, toBase64(`<!doctype r>${xml}`), 'SAML_DOCTYPE')
})

t.test('well-formed XML', async (t) => {
  const xml = buildResponseXml()
  accepts(toBase64(xml))
  rejects(t, toBase64(xml.slice(0, -10)), 'SAML_MALFORMED')
  rejects(t, toBase64(`${xml}<samlp:Response/>`), 'SAML_MALFORMED')
  rejects(t, toBase64(xml.replace('<Subject>', '<Subject ::foo="x">')), 'SAML_MALFORMED')
})

t.test('XSD schema', async (t) => {
  accepts(response({ sign: 'both' }))
  rejects(t, response({ afterSigning: (x) => x.replace('<samlp:Status>', '<samlp:Bogus/><samlp:Status>') }), 'SAML_SCHEMA')
  rejects(t, response({ afterSigning: (x) => x.replace(' Version="2.0" xmlns="urn:oasis', ' xmlns="urn:oasis') }), 'SAML_SCHEMA')
  accepts(response({ responseId: '1-starts-with-a-digit' })) // not an xs:ID, but real IdPs send it (schemas/README.md)
  rejects(t, response({ afterSigning: (x) => x.replace('</samlp:Response>', '<Extra/></samlp:Response>') }), 'SAML_SCHEMA')
  rejects(t, response({ times: { notBefore: null }, afterSigning: (x) => x.replace('<Conditions NotOnOrAfter="', '<Conditions NotOnOrAfter="soon') }), 'SAML_SCHEMA')
})

t.test('the root is samlp:Response', async (t) => {
  accepts(response())
  rejects(t, toBase64(assertionOf(buildResponseXml())), 'SAML_NOT_RESPONSE') // a bare signed Assertion
  const logout = '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l1" Version="2.0" ' +
    `IssueInstant="2025-01-15T12:00:00Z"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${TEST_IDP_ISSUER}</Issuer>` +
    '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>'
  rejects(t, toBase64(signXml(logout, 'response')), 'SAML_NOT_RESPONSE')
})

t.test('status Success', async (t) => {
  accepts(response({ status: 'urn:oasis:names:tc:SAML:2.0:status:Success' }))
  const b64 = response({
    status: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
    subStatus: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
    statusMessage: 'AADSTS50105: not assigned'
  })
  rejects(t, b64, 'SAML_STATUS')
  t.throws(() => validateLoginResponse(b64, testExpectations(), TEST_NOW),
    { message: /status:Requester urn:oasis:names:tc:SAML:2.0:status:RequestDenied AADSTS50105/ })
})

t.test('exactly one assertion', async (t) => {
  accepts(response())
  const twice = (x: string): string => x.replace(assertionOf(x), assertionOf(x) + assertionOf(x).replace(/ ID="[^"]+"/, ' ID="_second"'))
  rejects(t, response({ afterSigning: twice }), 'SAML_ASSERTION_COUNT')
  rejects(t, toBase64(signXml(buildUnsignedXml().replace(/<Assertion [\s\S]*<\/Assertion>/, ''), 'response')), 'SAML_ASSERTION_COUNT')
  // The genuine signed assertion hidden in Extensions, a forged one in its place: two assertions.
  const hidden = (x: string): string => {
    const genuine = assertionOf(x)
    const forged = genuine.replace(/<Signature[\s\S]*<\/Signature>/, '').replace(TEST_NAME_ID, 'mallory@contoso.com').replace(/ ID="[^"]+"/, ' ID="_forged"')
    return x.replace(genuine, forged).replace('<samlp:Status>', `<samlp:Extensions>${genuine}</samlp:Extensions><samlp:Status>`)
  }
  rejects(t, response({ afterSigning: hidden }), 'SAML_ASSERTION_COUNT')
  const encrypted = '<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData ' +
    'xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue>' +
    '</xenc:CipherData></xenc:EncryptedData></EncryptedAssertion>'
  const xml = signXml(buildUnsignedXml().replace(/<Assertion [\s\S]*<\/Assertion>/, encrypted), 'response')
  rejects(t, toBase64(xml), 'SAML_ENCRYPTED')
})

t.test('a signature is required', async (t) => {
  accepts(response({ sign: 'assertion' }))
  rejects(t, response({ sign: 'none' }), 'SAML_SIGNATURE')
  rejects(t, response({ sign: 'none' }), 'SAML_SIGNATURE', testExpectations({ wantAssertionsSigned: false }))
})

t.test('the assertion itself signed, unless wantAssertionsSigned is false', async (t) => {
  rejects(t, response({ sign: 'response' }), 'SAML_UNSIGNED_ASSERTION')
  const result = accepts(response({ sign: 'response' }), testExpectations({ wantAssertionsSigned: false }))
  t.equal(result.nameId, TEST_NAME_ID)
  accepts(response({ sign: 'both' }))
  accepts(response({ sign: 'assertion' }), testExpectations({ wantAssertionsSigned: false }))
})

t.test('SHA-1 only with allowSha1', async (t) => {
  rejects(t, response({ algorithm: 'sha1' }), 'SAML_WEAK_ALGORITHM')
  rejects(t, response({ algorithm: 'sha1', sign: 'response' }), 'SAML_WEAK_ALGORITHM', testExpectations({ wantAssertionsSigned: false }))
  accepts(response({ algorithm: 'sha1' }), testExpectations({ allowSha1: true }))
  // A SHA-256 signature with a SHA-1 digest is still SHA-1.
  const sha1Digest = (x: string): string => x.replace('xmlenc#sha256', 'xmldsig#sha1')
  rejects(t, response({ afterSigning: sha1Digest }), 'SAML_WEAK_ALGORITHM')
  rejects(t, response({ afterSigning: (x) => x.replace('xmldsig-more#rsa-sha256', 'xmldsig-more#rsa-md5') }), 'SAML_WEAK_ALGORITHM')
})

t.test('only the configured certificates verify', async (t) => {
  rejects(t, response({ signer: 'attacker', keyInfo: false }), 'SAML_SIGNATURE')
  // The attacker's certificate in KeyInfo changes nothing: KeyInfo is never read.
  rejects(t, response({ signer: 'attacker', keyInfo: true }), 'SAML_SIGNATURE')
  rejects(t, response({ signer: 'attacker', sign: 'response' }), 'SAML_SIGNATURE', testExpectations({ wantAssertionsSigned: false }))
  // Certificate rollover: any configured certificate may verify.
  accepts(response(), testExpectations({ idpCerts: [ATTACKER_CERT, IDP_CERT] }))
  accepts(response({ signer: 'attacker' }), testExpectations({ idpCerts: [IDP_CERT, ATTACKER_CERT] }))
  rejects(t, response(), 'SAML_SIGNATURE', testExpectations({ idpCerts: ['not a certificate'] }))
})

t.test('content changed after signing', async (t) => {
  rejects(t, response({ afterSigning: (x) => x.replace(`>${TEST_NAME_ID}<`, '>mallory@contoso.com<') }), 'SAML_SIGNATURE')
  rejects(t, response({ afterSigning: (x) => x.replace(`InResponseTo="${TEST_REQUEST_ID}" NotOnOrAfter`, 'InResponseTo="_other" NotOnOrAfter') }), 'SAML_SIGNATURE')
  // Both signed, the envelope changed: the assertion signature still verifies, the Response one does not.
  rejects(t, response({ sign: 'both', afterSigning: (x) => x.replace(`Destination="${TEST_ACS}"`, `Destination="${TEST_ACS}?x"`) }),
    'SAML_SIGNATURE', testExpectations({ acsUrl: `${TEST_ACS}?x` }))
})

t.test('the signature must reference the element it encloses (wrapping)', async (t) => {
  // The assertion's signature moved up to the Response: it still verifies cryptographically, but
  // it covers the Assertion, not the Response it claims to sign.
  const moved = (x: string): string => {
    const signature = x.slice(x.indexOf('<Signature'), x.indexOf('</Signature>') + '</Signature>'.length)
    return x.replace(signature, '').replace('<samlp:Status>', `${signature}<samlp:Status>`)
  }
  rejects(t, response({ afterSigning: moved }), 'SAML_SIGNATURE', testExpectations({ wantAssertionsSigned: false }))
  // Another element carrying the signed ID.
  const duplicateId = (x: string): string => {
    const id = /<Assertion ID="([^"]+)"/.exec(x)![1]
    return x.replace('<samlp:Status>', `<samlp:Extensions><x:e xmlns:x="urn:x" ID="${id}"/></samlp:Extensions><samlp:Status>`)
  }
  accepts(response({ afterSigning: (x) => x.replace('<samlp:Status>', '<samlp:Extensions><x:e xmlns:x="urn:x" ID="_x"/></samlp:Extensions><samlp:Status>') }))
  rejects(t, response({ afterSigning: duplicateId }), 'SAML_SIGNATURE')
  // Two References in one SignedInfo.
  const twoRefs = (x: string): string => x.replace(/(<Reference [\s\S]*?<\/Reference>)/, '$1$1')
  rejects(t, response({ afterSigning: twoRefs }), 'SAML_SIGNATURE')
})

t.test('issuer', async (t) => {
  accepts(response({ responseIssuer: null }))
  accepts(response(), testExpectations({ idpIssuers: ['https://other.example/', TEST_IDP_ISSUER] }))
  rejects(t, response({ issuer: 'https://sts.windows.net/evil/', responseIssuer: TEST_IDP_ISSUER }), 'SAML_ISSUER')
  rejects(t, response({ responseIssuer: 'https://sts.windows.net/evil/' }), 'SAML_ISSUER')
  rejects(t, response(), 'SAML_ISSUER', testExpectations({ idpIssuers: ['https://sts.windows.net/other/'] }))
})

t.test('audience, with or without spn:', async (t) => {
  accepts(response({ audience: TEST_SP_ENTITY_ID }))
  accepts(response({ audience: `spn:${TEST_SP_ENTITY_ID}` }))
  accepts(response({ audience: 'fe78e0b4-6fe7-47e6-812c-fb75cee266a4' }), testExpectations({ audience: 'spn:fe78e0b4-6fe7-47e6-812c-fb75cee266a4' }))
  accepts(response({ audience: ['https://other.example', TEST_SP_ENTITY_ID] }))
  rejects(t, response({ audience: 'https://other.example' }), 'SAML_AUDIENCE')
  rejects(t, response({ audience: `${TEST_SP_ENTITY_ID}/` }), 'SAML_AUDIENCE')
  rejects(t, response({ audience: null }), 'SAML_AUDIENCE')
})

t.test('Destination, when present, is our ACS', async (t) => {
  accepts(response({ destination: TEST_ACS }))
  accepts(response({ destination: null }))
  rejects(t, response({ destination: 'https://evil.example/acs' }), 'SAML_DESTINATION')
})

t.test('a bearer SubjectConfirmation whose Recipient is our ACS', async (t) => {
  accepts(response({ recipient: TEST_ACS }))
  rejects(t, response({ recipient: 'https://evil.example/acs' }), 'SAML_RECIPIENT')
  rejects(t, response({ recipient: null }), 'SAML_RECIPIENT')
  rejects(t, response({ subjectConfirmationMethod: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }), 'SAML_SUBJECT')
  rejects(t, response({ times: { scdNotOnOrAfter: null } }), 'SAML_SUBJECT')
})

t.test('time: Conditions NotBefore, at the skew limit', async (t) => {
  const b64 = response({ times: { notBefore: 0 } })
  accepts(b64, undefined, TEST_NOW - SKEW)
  rejects(t, b64, 'SAML_NOT_YET_VALID', undefined, TEST_NOW - SKEW - 1)
})

t.test('time: Conditions NotOnOrAfter, at the skew limit', async (t) => {
  const b64 = response({ times: { notOnOrAfter: 10 * MINUTE, scdNotOnOrAfter: 60 * MINUTE } })
  const result = accepts(b64, undefined, TEST_NOW + 10 * MINUTE + SKEW - 1)
  t.equal(result.notOnOrAfter, TEST_NOW + 10 * MINUTE, 'the earlier of the two limits')
  rejects(t, b64, 'SAML_EXPIRED', undefined, TEST_NOW + 10 * MINUTE + SKEW)
})

t.test('time: SubjectConfirmationData NotOnOrAfter, at the skew limit', async (t) => {
  const b64 = response({ times: { scdNotOnOrAfter: 5 * MINUTE } })
  accepts(b64, undefined, TEST_NOW + 5 * MINUTE + SKEW - 1)
  rejects(t, b64, 'SAML_EXPIRED', undefined, TEST_NOW + 5 * MINUTE + SKEW)
  accepts(b64, testExpectations({ clockSkewMs: 0 }), TEST_NOW + 5 * MINUTE - 1)
  rejects(t, b64, 'SAML_EXPIRED', testExpectations({ clockSkewMs: 0 }), TEST_NOW + 5 * MINUTE)
})

t.test('time: SubjectConfirmationData NotBefore, when present', async (t) => {
  const b64 = response({ times: { notBefore: null, scdNotBefore: 2 * MINUTE } })
  accepts(b64, undefined, TEST_NOW + 2 * MINUTE - SKEW)
  rejects(t, b64, 'SAML_NOT_YET_VALID', undefined, TEST_NOW + 2 * MINUTE - SKEW - 1)
})

t.test('time: AuthnStatement SessionNotOnOrAfter, at the skew limit', async (t) => {
  const b64 = response({ times: { sessionNotOnOrAfter: 2 * MINUTE } })
  t.equal(accepts(b64, undefined, TEST_NOW + 2 * MINUTE + SKEW - 1).sessionNotOnOrAfter, TEST_NOW + 2 * MINUTE)
  rejects(t, b64, 'SAML_SESSION_EXPIRED', undefined, TEST_NOW + 2 * MINUTE + SKEW)
})

t.test('NameID present and not empty', async (t) => {
  accepts(response({ nameIdXml: 'bob@contoso.com' }))
  rejects(t, response({ nameIdXml: null }), 'SAML_SUBJECT')
  rejects(t, response({ nameIdXml: '' }), 'SAML_SUBJECT')
  rejects(t, response({ nameIdXml: ' \n ' }), 'SAML_SUBJECT')
  const noAuthn = signXml(buildUnsignedXml().replace(/<AuthnStatement[\s\S]*<\/AuthnStatement>/, ''), 'assertion')
  rejects(t, toBase64(noAuthn), 'SAML_SUBJECT')
})

t.test('NameID is the full text: a comment or CDATA does not cut it', async (t) => {
  t.equal(accepts(response({ nameIdXml: 'ali<!-- - -->ce@contoso.com' })).nameId, 'alice@contoso.com')
  t.equal(accepts(response({ nameIdXml: 'alice@<![CDATA[contoso.com]]>' })).nameId, 'alice@contoso.com')
  t.equal(accepts(response({ sign: 'response', nameIdXml: 'ali<!--x-->ce@contoso.com' }),
    testExpectations({ wantAssertionsSigned: false })).nameId, 'alice@contoso.com')
  // A comment inserted after signing does not break the signature (c14n drops it) nor the value.
  const commented = (x: string): string => x.replace(`>${TEST_NAME_ID}<`, '>alice<!-- evil -->@contoso.com<')
  t.equal(accepts(response({ afterSigning: commented })).nameId, 'alice@contoso.com')
})

t.test('InResponseTo comes from the signed SubjectConfirmationData', async (t) => {
  const rewritten = response({
    scdInResponseTo: '_signed_request',
    responseInResponseTo: '_signed_request',
    afterSigning: (x) => x.replace('InResponseTo="_signed_request" xmlns:samlp', 'InResponseTo="_attacker_request" xmlns:samlp')
  })
  t.equal(accepts(rewritten).inResponseTo, '_signed_request')
  t.equal(accepts(response({ responseInResponseTo: null, scdInResponseTo: '_scd' })).inResponseTo, '_scd')
  t.equal(accepts(response({ responseInResponseTo: '_resp', scdInResponseTo: null })).inResponseTo, undefined)
  t.equal(accepts(response({ inResponseTo: null })).inResponseTo, undefined, 'IdP-initiated')
})

t.test('values come from the signed assertion, not the document', async (t) => {
  // An attribute added after signing would break the digest; one in an unsigned envelope is not read.
  const injected = (x: string): string => x.replace('</Attribute></AttributeStatement>',
    `</Attribute><Attribute Name="${CLAIM.email}"><AttributeValue>mallory@contoso.com</AttributeValue></Attribute></AttributeStatement>`)
  rejects(t, response({ afterSigning: injected }), 'SAML_SIGNATURE')
  const result = accepts(response({ attributes: { [CLAIM.email]: ['a@x', 'b@x'], [CLAIM.groups]: [] } }))
  t.same(result.attributes, { [CLAIM.email]: ['a@x', 'b@x'], [CLAIM.groups]: [] })
})
