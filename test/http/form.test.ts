// The form parser gives what fast-querystring (Fastify's own query parser) gives, except that the
// SAML message fields stay as the bytes that came, for a validator worker to decode: decoded, they
// are what fast-querystring gives too.
import t from 'tap'
import { createRequire } from 'node:module'
import { parseForm } from '../../src/http/form.js'
import { fieldText, isFormEncoded, type FormEncoded, type SamlMessageField } from '../../src/sp/read/form-value.js'

const require = createRequire(import.meta.url)
const reference = require(require.resolve('fast-querystring', { paths: [require.resolve('fastify')] })) as { parse: (s: string) => Record<string, unknown> }

const decoded = (value: unknown): unknown => Array.isArray(value) ? value.map(decoded) : isFormEncoded(value) ? fieldText(value) : value

t.test('the same result as fast-querystring, the message fields once decoded', async (t) => {
  const base64 = encodeURIComponent(Buffer.from('<samlp:Response>ü</samlp:Response>'.repeat(50)).toString('base64'))
  const inputs = [
    `SAMLResponse=${base64}&RelayState=%2Fqueue%3Ftab%3D2`,
    'a=1&a=2&a=3', 'a', 'a=', '=x', '&&a=1&&', 'a+b=c+d', 'a=%zz', 'a=%E0%A4%A', 'a=%F0%9F%98%80', 'x=1=2', '',
    'SAMLRequest=abc&SAMLResponse=def', 'a=%2B%2f%3d', '%61=%62', 'SAMLResponse=a+b%2B%2f%3D', 'SAMLResponse', 'SAMLResponse=',
    'SAMLResponse=1&SAMLResponse=2', 'SAML%52esponse=%41%42', 'SAMLResponse=%F0%9F%98%80', 'caf%C3%A9=cr%C3%A8me+br%C3%BBl%C3%A9e'
  ]
  for (const input of inputs) {
    const form = parseForm(Buffer.from(input))
    const plain = Object.fromEntries(Object.entries(form).map(([name, value]) => [name, decoded(value)]))
    t.same(plain, { ...reference.parse(input) }, JSON.stringify(input))
  }
})

t.test('SAMLResponse and SAMLRequest are kept as their bytes, every other field as text', async (t) => {
  const form = parseForm(Buffer.from('SAMLResponse=PHg%2BPC94Pg%3D%3D&SAMLRequest=abc&RelayState=%2Fq&continue=x'))
  t.ok(isFormEncoded(form.SAMLResponse) && isFormEncoded(form.SAMLRequest), 'the message fields: bytes')
  t.equal(Buffer.concat((form.SAMLResponse as FormEncoded).formEncoded).toString(), 'PHg%2BPC94Pg%3D%3D', 'as they came')
  t.equal(fieldText(form.SAMLResponse as SamlMessageField), 'PHg+PC94Pg==', 'decoded where they are read')
  t.same([form.RelayState, form.continue], ['/q', 'x'], 'the others: decoded text')
})

t.test('a malformed escape in a message field stays as it came, as in any other field', async (t) => {
  for (const [sent, text] of [['%', '%'], ['%4', '%4'], ['a%zzb', 'a%zzb'], ['%41%', 'A%'], ['%c3%a9', 'é'], ['%ff', '\ufffd']]) {
    t.equal(fieldText({ formEncoded: [Buffer.from(sent)] }), text, sent)
  }
})

t.test('a body that arrives in pieces, split anywhere, parses as the same body in one piece', async (t) => {
  const base64 = encodeURIComponent(Buffer.from('<samlp:Response>ü</samlp:Response>'.repeat(3)).toString('base64'))
  const input = Buffer.from(`RelayState=%2Fq%C3%A9&SAMLResponse=${base64}&continue=a+b&SAMLResponse=x`)
  const whole = plainForm(parseForm(input))
  let splits = 0
  for (let i = 0; i <= input.length; i++) {
    for (const j of [i, Math.min(input.length, i + 1), Math.min(input.length, i + 7)]) {
      const pieces = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)].map((p) => Buffer.from(p))
      const form = parseForm(pieces)
      if (JSON.stringify(plainForm(form)) !== JSON.stringify(whole)) t.fail(`split at ${i} and ${j}`)
      splits++
    }
  }
  t.pass(`${splits} ways of splitting ${input.length} bytes: one result`)
  t.same(whole, { RelayState: '/qé', SAMLResponse: [decodeURIComponent(base64), 'x'], continue: 'a b' }, 'and it is the right one')
})

function plainForm (form: ReturnType<typeof parseForm>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(form).map(([name, value]) => [name, decoded(value)]))
}
