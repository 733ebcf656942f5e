// SimpleSAMLphp 1.19 (Debian's simplesamlphp) as an IdP under PHP's built-in server, with a config
// directory of its own (SIMPLESAMLPHP_CONFIG_DIR) in a temp dir. Its settings are plain PHP arrays
// read from JSON files, so a test changes the IdP's behaviour by rewriting one file: PHP reads its
// configuration at every request. The SP is known to it by the gateway's metadata XML, as is.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { startProcess, type KeyPair } from './_harness.js'

const SSP_WWW = '/usr/share/simplesamlphp/www'
const FORMAT = {
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'
}
export const SSP_USER = { username: 'alice', password: 'alice-password' }

/** What the IdP does, in its own setting names (saml20-idp-hosted). */
export interface SspCase {
  'saml20.sign.assertion'?: boolean
  'saml20.sign.response'?: boolean
  'assertion.encryption'?: boolean
  'signature.algorithm'?: string
  /** Attribute names: as the auth source has them (basic), urn:oid: (name2oid) or urn:mace: (name2urn). */
  names?: 'basic' | 'oid' | 'urn'
}

export interface SimpleSamlPhp {
  origin: string
  entityId: string
  metadataUrl: string
  /** Trust this SP metadata and answer as the case says, from the next request on. */
  configure: (spMetadata: string, c: SspCase) => void
  log: () => string
}

const php = (value: unknown): string => `<?php\nreturn json_decode(${JSON.stringify(JSON.stringify(value))}, true);\n`

export async function startSimpleSamlPhp (t: { teardown: (fn: () => unknown) => void }, dir: string, keys: KeyPair): Promise<SimpleSamlPhp> {
  const configDir = join(dir, 'ssp-config')
  const metadataDir = join(dir, 'ssp-metadata')
  for (const sub of [configDir, metadataDir, join(dir, 'ssp-tmp'), join(dir, 'ssp-sessions'), join(dir, 'ssp-data')]) mkdirSync(sub, { recursive: true })
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  writeConfig(configDir, metadataDir, dir, origin)
  const configure = (spMetadata: string, c: SspCase): void => {
    writeFileSync(join(metadataDir, 'sp.xml'), spMetadata)
    writeFileSync(join(metadataDir, 'idp-hosted.json.php'), php(hostedIdp(keys, c)))
  }
  // Until a gateway is configured, an SP that exists nowhere: the metadata sources must parse.
  configure('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:example:nobody"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://nobody.invalid/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>', {})
  // No opcache: it would serve a configuration file rewritten less than revalidate_freq ago from its cache.
  await startProcess(t, 'php', ['-d', 'opcache.enable=0', '-S', `127.0.0.1:${port}`, '-t', SSP_WWW], { env: { SIMPLESAMLPHP_CONFIG_DIR: configDir }, port, ready: 'started' })
  const logFile = join(dir, 'simplesamlphp.log')
  return {
    origin,
    entityId: `${origin}/saml2/idp/metadata.php`,
    metadataUrl: `${origin}/saml2/idp/metadata.php`,
    configure,
    log: () => { try { return readFileSync(logFile, 'utf8') } catch { return '' } }
  }
}

/** config.php, authsources.php (alice at exampleauth:UserPass), and the hosted IdP read from its JSON. */
function writeConfig (configDir: string, metadataDir: string, dir: string, origin: string): void {
  writeFileSync(join(configDir, 'config.json.php'), php({
    baseurlpath: `${origin}/`,
    certdir: dir,
    loggingdir: dir,
    datadir: join(dir, 'ssp-data'),
    tempdir: join(dir, 'ssp-tmp'),
    secretsalt: 'interop-test-salt-not-a-secret',
    'auth.adminpassword': 'interop-admin',
    technicalcontact_name: 'Interop test',
    technicalcontact_email: 'na@example.org',
    timezone: 'UTC',
    'logging.level': 7,
    'logging.handler': 'file',
    'logging.logfile': 'simplesamlphp.log',
    'enable.saml20-idp': true,
    'module.enable': { exampleauth: true, core: true, saml: true, admin: true },
    'store.type': 'phpsession',
    'session.phpsession.savepath': join(dir, 'ssp-sessions'),
    'session.cookie.secure': false,
    attributenamemapdir: '/etc/simplesamlphp/attributemap/',
    'metadata.sources': [{ type: 'flatfile', directory: metadataDir }, { type: 'xml', file: join(metadataDir, 'sp.xml') }]
  }))
  writeFileSync(join(configDir, 'config.php'), "<?php\n$config = require __DIR__ . '/config.json.php';\n")
  writeFileSync(join(configDir, 'authsources.php'), "<?php\n$config = require __DIR__ . '/authsources.json.php';\n")
  writeFileSync(join(configDir, 'authsources.json.php'), php({
    admin: ['core:AdminPassword'],
    users: {
      0: 'exampleauth:UserPass',
      [`${SSP_USER.username}:${SSP_USER.password}`]: {
        uid: ['alice'],
        mail: ['alice@example.org'],
        givenName: ['Alice'],
        sn: ['Example'],
        displayName: ['Alice Example'],
        eduPersonPrincipalName: ['alice@example.org']
      }
    }
  }))
  writeFileSync(join(metadataDir, 'saml20-idp-hosted.php'), "<?php\n$metadata['__DYNAMIC:1__'] = require __DIR__ . '/idp-hosted.json.php';\n")
  writeFileSync(join(metadataDir, 'saml20-sp-remote.php'), '<?php\n')
}

/** saml20-idp-hosted for a case: signatures checked both ways, every NameID format made by authproc. */
function hostedIdp (keys: KeyPair, c: SspCase): Record<string, unknown> {
  const maps = c.names === 'oid' ? ['name2oid'] : c.names === 'urn' ? ['name2urn'] : []
  const bindings = ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST']
  return {
    host: '__DEFAULT__',
    privatekey: keys.keyFile,
    certificate: keys.certFile,
    auth: 'users',
    'signature.algorithm': c['signature.algorithm'] ?? 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'validate.authnrequest': true,
    'validate.logout': true,
    'sign.logout': true,
    'redirect.sign': true,
    SingleLogoutServiceBinding: bindings,
    SingleSignOnServiceBinding: bindings,
    NameIDFormat: FORMAT.transient,
    'attributes.NameFormat': c.names === 'basic' || c.names === undefined
      ? 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic'
      : 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
    'saml20.sign.assertion': c['saml20.sign.assertion'] ?? true,
    'saml20.sign.response': c['saml20.sign.response'] ?? false,
    'assertion.encryption': c['assertion.encryption'] ?? false,
    authproc: {
      10: { class: 'saml:TransientNameID' },
      11: { class: 'saml:PersistentNameID', attribute: 'uid', NameQualifier: true, SPNameQualifier: true },
      12: { class: 'saml:AttributeNameID', attribute: 'mail', Format: FORMAT.email },
      13: { class: 'saml:AttributeNameID', attribute: 'uid', Format: FORMAT.unspecified },
      ...(maps.length > 0 ? { 90: { class: 'core:AttributeMap', 0: maps[0] } } : {})
    }
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
