// `saml-gateway logs`: a JSON log line of a rejection becomes lines a person reads: the UTC time,
// the level, the code, the message, the expected and received values, and the reference.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { formatLogLine, printLogs } from '../../src/commands/logs.js'

const rejection = JSON.stringify({
  level: 40,
  time: Date.UTC(2026, 2, 2, 9, 0, 5, 123),
  pid: 1,
  hostname: 'motion',
  reqId: 'req-7',
  code: 'SAML_AUDIENCE',
  correlationId: 'req-7',
  route: '/api/auth/saml/callback',
  audit: 'rejection',
  outcome: 'rejected',
  detail: 'The assertion is not meant for this service provider',
  expected: 'https://motion.example.com',
  received: ['spn:https://motion.other.example'],
  msg: 'SAML message rejected'
})

t.test('a rejection, for people', async (t) => {
  const text = formatLogLine(rejection)
  const lines = text.split('\n')
  t.equal(lines[0], '2026-03-02 09:00:05Z WARN  SAML_AUDIENCE SAML message rejected')
  t.ok(lines.includes('    expected: https://motion.example.com'))
  t.ok(lines.includes('    received: ["spn:https://motion.other.example"]'))
  t.ok(lines.includes('    reference: req-7'))
  t.notOk(lines.some((l) => /pid|hostname/.test(l)), 'no pid or hostname')
})

t.test('lines that are not JSON pass through; objects are flattened', async (t) => {
  t.equal(formatLogLine('plain text'), 'plain text')
  t.match(formatLogLine(JSON.stringify({ level: 30, time: 0, msg: 'handoff', req: { method: 'POST', path: '/x' } })), /req: method=POST, path=\/x/)
  const input = new PassThrough()
  const output = new PassThrough()
  let out = ''
  output.on('data', (c: Buffer) => { out += c.toString() })
  const done = printLogs(input, output)
  input.end(`${rejection}\n\nnot json\n`)
  await done
  t.match(out, /^2026-03-02 09:00:05Z WARN {2}SAML_AUDIENCE/)
  t.match(out, /\nnot json\n$/)
})
