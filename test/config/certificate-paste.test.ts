// Each way XCALLY's troubleshooting page says the certificate gets pasted into Motion's .env, in a
// real .env file beside the other four variables: the gateway either reads it with one warning
// that names what it cleaned up, or says precisely what is wrong and where — never a knock-on
// "is required" for a variable that is set.
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { readEnvFile } from '../../src/config/env-file.js'
import { fixture, tempDir, TENANT } from '../helpers/app.js'

const NOW = Date.parse('2026-03-02T09:00:00Z')
const body = fixture('idp.crt').replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '')
const lines64 = body.match(/.{1,64}/g)!
const BEGIN = '-----BEGIN CERTIFICATE-----'
const END = '-----END CERTIFICATE-----'

/** Motion's .env with the certificate as pasted; the certificate is on line 3. */
function dotEnv (cert: string): string {
  return [
    'DOMAIN=motion.example.com',
    `XC_SAML_ENTRYPOINT=https://login.microsoftonline.com/${TENANT}/saml2`,
    `XC_SAML_CERT=${cert}`,
    'XC_SAML_ISSUER=https://motion.example.com',
    `XC_SAML_LOGOUT_URL=https://login.microsoftonline.com/${TENANT}/saml2`,
    ''
  ].join('\n')
}

function load (t: Test, text: string) {
  const dir = tempDir(t)
  writeFileSync(join(dir, '.env'), text)
  const env = { GATEWAY_UPSTREAM_LOGIN_URL: 'http://127.0.0.1:8080/api/login/saml', GATEWAY_SESSION_STORE: 'memory', GATEWAY_DATA_DIR: dir }
  try {
    const config = loadConfig({ env, cwd: dir, now: NOW })
    return { config, problems: [] as string[], warnings: [...config.warnings] }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { config: undefined, problems: err.problems, warnings: [] as string[] }
  }
}

const readable: Array<[string, string, RegExp | undefined]> = [
  ['one line of base64, as Entra\'s "Certificate (Base64)" holds it', body, undefined],
  ['in double quotes over several lines, with the armour (a well-formed PEM)', `"${BEGIN}\n${lines64.join('\n')}\n${END}"`, undefined],
  ['in double quotes over several lines, no armour', `"${lines64.join('\n')}"`, /^XC_SAML_CERT: removed line breaks from the pasted certificate; it parsed fine after that$/],
  ['in double quotes with \\n (the .env syntax turns them into line breaks: a well-formed PEM)', `"${BEGIN}\\n${lines64.join('\\n')}\\n${END}"`, undefined],
  ['in single quotes with a literal \\n', `'${BEGIN}\\n${lines64.join('\\n')}\\n${END}'`, /^XC_SAML_CERT: removed literal \\n sequences from the pasted certificate/],
  ['in single quotes over several lines', `'${lines64.join('\n')}'`, /^XC_SAML_CERT: removed line breaks/],
  ['quotes inside quotes (copied with its quotes)', `"'${body}'"`, /^XC_SAML_CERT: removed quotes from the pasted certificate/],
  ['the armour on the same line', `${BEGIN}${body}${END}`, /^XC_SAML_CERT: removed PEM armour from the pasted certificate/],
  ['spaces inside (copied from a wrapped page)', `"${lines64.join(' ')}"`, /^XC_SAML_CERT: removed spaces from the pasted certificate/],
  ['unquoted, with real line breaks', lines64.join('\n'), /^XC_SAML_CERT \(.*\.env line 3\): the value continues on the next lines 4–\d+ without quotes; .* Fix: put it on one line, or in double quotes$/],
  ['unquoted, over several lines with BEGIN and END lines', `${BEGIN}\n${lines64.join('\n')}\n${END}`, /^XC_SAML_CERT \(.*\.env line 3\): the value continues on the next lines 4–\d+ without quotes/]
]

for (const [name, cert, warning] of readable) {
  t.test(`read: ${name}`, async (t) => {
    const { config, problems, warnings } = load(t, dotEnv(cert))
    t.same(problems, [], 'no problem')
    t.equal(config?.idp.certs.length, 1, 'one certificate')
    t.equal(config?.sp.entityId, 'https://motion.example.com', 'XC_SAML_ISSUER, on the line after, is read')
    t.ok(config?.idp.logoutUrl?.startsWith('https://login.microsoftonline.com/'), 'and the line after that')
    if (warning === undefined) t.same(warnings, [], 'nothing to say')
    else {
      t.equal(new Set(warnings).size, warnings.length, 'each said once')
      t.ok(warnings.some((w) => warning.test(w)), `the warning says what was cleaned up: ${warnings.join(' | ')}`)
    }
  })
}

const unreadable: Array<[string, string, RegExp]> = [
  ['cut short when pasted', body.slice(0, 600), /^XC_SAML_CERT: 600 base64 characters that do not decode to an X\.509 certificate \(truncated when pasted\?\)$/],
  ['a thumbprint instead of the certificate', 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678', /^XC_SAML_CERT: this looks like a certificate thumbprint/],
  ['a character that is not base64', `${body.slice(0, 100)}é${body.slice(100)}`, /^XC_SAML_CERT: character 'é' at position 101 is not base64/]
]

for (const [name, cert, problem] of unreadable) {
  t.test(`refused, precisely: ${name}`, async (t) => {
    const { problems } = load(t, dotEnv(cert))
    t.equal(problems.length, 1, `one problem: ${problems.join(' | ')}`)
    t.match(problems[0], problem)
    t.notOk(problems.some((p) => /is required/.test(p)), 'no knock-on "is required"')
  })
}

t.test('another variable continued over lines is a problem naming its lines, and nothing else breaks', async (t) => {
  const text = dotEnv(body).replace('XC_SAML_ISSUER=https://motion.example.com', 'XC_SAML_ISSUER=https://motion\n.example.com')
  const { problems } = load(t, text)
  t.same(problems, [`XC_SAML_ISSUER (${problems[0]?.match(/\((.*) line 4\)/)?.[1]} line 4): the value continues on the next line 5 without quotes. Fix: put it on one line, or in double quotes`])
})

t.test('the scan keeps every ordinary .env shape as parseEnv reads it', async (t) => {
  const text = '# Motion\nexport DOMAIN=motion.example.com\nA="x\ny"\nB=\'p=q\'\nC=plain # comment\n\nD=AB==\n'
  const reading = readEnvFile(text, '.env')
  t.same(reading.problems, [])
  t.same(reading.warnings, [])
  t.same(reading.values, { DOMAIN: 'motion.example.com', A: 'x\ny', B: 'p=q', C: 'plain', D: 'AB==' })
})
