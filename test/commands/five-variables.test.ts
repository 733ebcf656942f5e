// An administrator with XCALLY's guide in hand has exactly Motion's five SAML variables in its .env.
// From those alone, `metadata` prints the SP metadata and `check` prints the values for Entra and
// names what is still missing (only the handoff URL), each with a Fix line.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkConfiguration, formatReport } from '../../src/commands/check.js'
import { fixture, tempDir, TENANT } from '../helpers/app.js'
import { runCli } from './_cli.js'

const NOW = Date.parse('2026-03-02T09:00:00Z')
// The metadata command runs as a real process (TypeScript compiled on the fly): slow on a busy machine.
t.setTimeout(300_000)
const body = fixture('idp.crt').replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '')
const FIVE = [
  'DOMAIN=motion.example.com',
  `XC_SAML_ENTRYPOINT=https://login.microsoftonline.com/${TENANT}/saml2`,
  `XC_SAML_CERT=${body}`,
  'XC_SAML_ISSUER=https://motion.example.com',
  `XC_SAML_LOGOUT_URL=https://login.microsoftonline.com/${TENANT}/saml2`
].join('\n') + '\n'

const run = async (cwd: string, args: string[]) => await runCli(args, { cwd })

t.test('metadata works from the five variables alone', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, '.env'), FIVE)
  const res = await run(dir, ['metadata'])
  t.equal(res.status, 0, res.stderr)
  t.match(res.stdout, /entityID="https:\/\/motion\.example\.com"/)
  t.match(res.stdout, /Location="https:\/\/motion\.example\.com\/api\/auth\/saml\/callback"/)
})

t.test('check from the five variables: the Entra values, and exactly the handoff URL missing, with its fix', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, '.env'), FIVE)
  const report = await checkConfiguration({ env: {}, cwd: dir, now: NOW })
  t.equal(report.ok, false)
  t.equal(report.problems.length, 1, report.problems.join('\n'))
  t.match(report.problems[0], /^GATEWAY_UPSTREAM_LOGIN_URL is required\. Fix: set it to Motion's handoff route .* HANDOFF\.md/)
  const text = formatReport(report)
  t.match(text, /Identifier \(Entity ID\)\s+https:\/\/motion\.example\.com\n/)
  t.match(text, /Reply URL \(Assertion Consumer Service URL\)\s+https:\/\/motion\.example\.com\/api\/auth\/saml\/callback/)

  t.match(text, /problem: GATEWAY_UPSTREAM_LOGIN_URL is required\. Fix:/)
})

t.test('nothing set: every missing setting named, each with a Fix line', async (t) => {
  const report = await checkConfiguration({ env: {}, cwd: tempDir(t), now: NOW })
  for (const name of ['DOMAIN', 'XC_SAML_ENTRYPOINT', 'XC_SAML_CERT', 'XC_SAML_ISSUER']) {
    const line = report.problems.find((p) => p.startsWith(`${name} is required`))
    t.match(line, /\. Fix: \S/, `${name}: ${line}`)
  }
  t.ok(report.problems.some((p) => p.startsWith('GATEWAY_UPSTREAM_LOGIN_URL is required. Fix:')), 'the handoff URL too')
})

t.test("a Motion without the handoff route: check says so (404), not just 'unreachable'", async (t) => {
  const { createServer } = await import('node:http')
  const motion = createServer((_req, res) => { res.writeHead(404); res.end('Cannot POST /api/login/saml') })
  await new Promise<void>((resolve) => motion.listen(0, '127.0.0.1', resolve))
  t.teardown(() => motion.close())
  const url = `http://127.0.0.1:${(motion.address() as { port: number }).port}/api/login/saml`
  const dir = tempDir(t)
  writeFileSync(join(dir, '.env'), `${FIVE}GATEWAY_UPSTREAM_LOGIN_URL=${url}\n`)
  const report = await checkConfiguration({ env: {}, cwd: dir, now: NOW })
  t.same(report.problems.map((p) => p.replace(url, 'URL')), ['GATEWAY_UPSTREAM_LOGIN_URL: URL answers 404: Motion has no handoff route there. Fix: add the route HANDOFF.md describes (stock Motion has none), or correct the path'])
})
