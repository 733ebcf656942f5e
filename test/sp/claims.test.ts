import t from 'tap'
import { loadConfig } from '../../src/config/index.js'
import { CLAIM_ALIASES, claimSources, toSessionUser } from '../../src/sp/claims.js'
import type { ValidatedAssertion } from '../../src/sp/types.js'
import { baseEnv, tempDir } from '../helpers/app.js'
import { entraClaims, TEST_NOW } from '../helpers/idp.js'

const assertion = (attributes: Record<string, string[]>, nameId = 'a9f3e1'): ValidatedAssertion => ({
  responseId: '_r', assertionId: '_a', issuer: 'https://idp.example.org', nameId, notOnOrAfter: TEST_NOW + 60_000, attributes
})
const claimsOf = (attributes: Record<string, string[]>, configured = {}, nameId?: string) =>
  toSessionUser(assertion(attributes, nameId), { sources: claimSources(configured), emailCase: 'preserve' }, TEST_NOW).claims

const PERSON = { email: 'ada@example.org', name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace' }

t.test('each IdP vocabulary gives the same identity', async (t) => {
  const vocabularies: Record<string, Record<string, string[]>> = {
    'urn:oid: (SimpleSAMLphp, Shibboleth, pysaml2 "uri")': {
      'urn:oid:0.9.2342.19200300.100.1.3': ['ada@example.org'],
      'urn:oid:2.16.840.1.113730.3.1.241': ['Ada Lovelace'],
      'urn:oid:2.5.4.42': ['Ada'],
      'urn:oid:2.5.4.4': ['Lovelace'],
      'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': ['ada@example.org'],
      'urn:oid:0.9.2342.19200300.100.1.1': ['ada']
    },
    'urn:mace:dir:attribute-def: (pysaml2 and Shibboleth "basic")': {
      'urn:mace:dir:attribute-def:mail': ['ada@example.org'],
      'urn:mace:dir:attribute-def:displayName': ['Ada Lovelace'],
      'urn:mace:dir:attribute-def:givenName': ['Ada'],
      'urn:mace:dir:attribute-def:sn': ['Lovelace'],
      'urn:mace:dir:attribute-def:uid': ['ada']
    },
    'plain names (pysaml2 basic, Keycloak)': { mail: ['ada@example.org'], displayName: ['Ada Lovelace'], givenName: ['Ada'], sn: ['Lovelace'], uid: ['ada'] },
    'Okta / Google': { email: ['ada@example.org'], firstName: ['Ada'], lastName: ['Lovelace'], name: ['Ada Lovelace'] },
    'ADFS claim URIs': {
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': ['ada@example.org'],
      'http://schemas.xmlsoap.org/claims/CommonName': ['Ada Lovelace'],
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname': ['Ada'],
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname': ['Lovelace'],
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': ['ada@corp.example.org'],
      'http://schemas.xmlsoap.org/claims/Group': ['agents']
    }
  }
  for (const [label, attributes] of Object.entries(vocabularies)) {
    t.match(claimsOf(attributes), PERSON, label)
  }
  t.equal(claimsOf(vocabularies['urn:mace:dir:attribute-def: (pysaml2 and Shibboleth "basic")']).preferred_username, 'ada', 'uid → preferred_username')
  t.equal(claimsOf(vocabularies['urn:oid: (SimpleSAMLphp, Shibboleth, pysaml2 "uri")']).preferred_username, 'ada@example.org', 'eduPersonPrincipalName before uid')
  t.same(claimsOf(vocabularies['ADFS claim URIs']).groups, ['agents'])
})

t.test('Entra keeps its claims as before', async (t) => {
  const claims = claimsOf(entraClaims('alice@contoso.com'))
  t.match(claims, { email: 'alice@contoso.com', name: 'Alice Example', given_name: 'Alice', family_name: 'Example', oid: '0f8fad5b-d9cb-469f-a165-70867728950e', preferred_username: 'alice@contoso.com' })
  t.equal((claims.groups as string[]).length, 2)
})

t.test('GATEWAY_CLAIM_<NAME> comes before the built-in aliases', async (t) => {
  const attributes = { mail: ['ada@example.org'], 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': ['ada@uni.example'], cn: ['A. Lovelace'], displayName: ['Ada Lovelace'] }
  t.equal(claimsOf(attributes).email, 'ada@example.org')
  t.equal(claimsOf(attributes, { email: ['urn:oid:1.3.6.1.4.1.5923.1.1.1.6'] }).email, 'ada@uni.example')
  t.equal(claimsOf(attributes, { name: ['cn'] }).name, 'A. Lovelace')
  t.equal(claimsOf(attributes, { name: ['notSent'] }).name, 'Ada Lovelace', 'an absent configured attribute falls back to the aliases')
  t.equal(claimsOf({}, {}, 'ada@example.org').email, 'ada@example.org', 'no attribute: an email-like NameID')
})

t.test('the settings: one per claim, comma-separated, GATEWAY_EMAIL_ATTRIBUTE still read', async (t) => {
  const config = loadConfig({
    env: baseEnv({ GATEWAY_CLAIM_EMAIL: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6, mail', GATEWAY_CLAIM_GROUPS: 'eduPersonEntitlement', GATEWAY_CLAIM_PREFERRED_USERNAME: 'sAMAccountName' }),
    cwd: tempDir(t)
  })
  t.same(config.attributes.configured, { email: ['urn:oid:1.3.6.1.4.1.5923.1.1.1.6', 'mail'], groups: ['eduPersonEntitlement'], preferred_username: ['sAMAccountName'] })
  t.same(config.attributes.sources.email.slice(0, 2), ['urn:oid:1.3.6.1.4.1.5923.1.1.1.6', 'mail'])
  t.equal(config.attributes.sources.email.length, new Set(['urn:oid:1.3.6.1.4.1.5923.1.1.1.6', ...CLAIM_ALIASES.email]).size, 'then the aliases, once each')
  const legacy = loadConfig({ env: baseEnv({ GATEWAY_EMAIL_ATTRIBUTE: 'upn' }), cwd: tempDir(t) })
  t.same(legacy.attributes.configured.email, ['upn'])
})
