// The form parser gives what fast-querystring (@fastify/formbody's default) gives, faster on the
// large percent-encoded SAMLResponse values the ACS and the SLO endpoint take.
import t from 'tap'
import { createRequire } from 'node:module'
import { parseForm } from '../../src/http/form.js'

const require = createRequire(import.meta.url)
// fast-querystring comes with @fastify/formbody: the reference this parser must agree with.
const reference = require(require.resolve('fast-querystring', { paths: [require.resolve('@fastify/formbody')] })) as { parse: (s: string) => Record<string, unknown> }

t.test('the same result as fast-querystring', async (t) => {
  const base64 = encodeURIComponent(Buffer.from('<samlp:Response>ü</samlp:Response>'.repeat(50)).toString('base64'))
  const inputs = [
    `SAMLResponse=${base64}&RelayState=%2Fqueue%3Ftab%3D2`,
    'a=1&a=2&a=3', 'a', 'a=', '=x', '&&a=1&&', 'a+b=c+d', 'a=%zz', 'a=%E0%A4%A', 'a=%F0%9F%98%80', 'x=1=2', '',
    'SAMLRequest=abc&SAMLResponse=def', 'a=%2B%2f%3d', '%61=%62'
  ]
  for (const input of inputs) t.same({ ...parseForm(input) }, { ...reference.parse(input) }, JSON.stringify(input))
})
