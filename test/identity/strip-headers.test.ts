import t from 'tap'
import { isGatewayHeader, stripGatewayHeaders } from '../../src/identity/strip-headers.js'

t.test('every X-Gateway-* header goes, whatever its case or separator', async (t) => {
  const headers = {
    'X-Gateway-Identity': 'forged',
    'x-gateway-identity': 'forged',
    x_gateway_identity: 'forged',
    'X-GATEWAY-FOO': 'x',
    'X_Gateway-Mixed': 'x',
    'x-gateway-user': ['a', 'b'],
    host: 'motion.example.com',
    cookie: 'a=b',
    'x-forwarded-for': '203.0.113.7',
    'x-gatewayidentity': 'kept: no dash after the prefix',
    'x-my-gateway-thing': 'kept: not a prefix',
    gateway: 'kept'
  }
  t.same(stripGatewayHeaders(headers), {
    host: 'motion.example.com',
    cookie: 'a=b',
    'x-forwarded-for': '203.0.113.7',
    'x-gatewayidentity': 'kept: no dash after the prefix',
    'x-my-gateway-thing': 'kept: not a prefix',
    gateway: 'kept'
  })
})

t.test('returns a copy and leaves the input alone', async (t) => {
  const headers = { 'x-gateway-identity': 'forged', accept: 'text/html' }
  const stripped = stripGatewayHeaders(headers)
  t.not(stripped, headers)
  t.same(headers, { 'x-gateway-identity': 'forged', accept: 'text/html' })
  t.same(stripGatewayHeaders({}), {})
})

t.test('isGatewayHeader', async (t) => {
  t.ok(isGatewayHeader('X-Gateway-Identity'))
  t.ok(isGatewayHeader('x_gateway_identity'))
  t.ok(isGatewayHeader('X-GATEWAY-'))
  t.notOk(isGatewayHeader('x-gateway'))
  t.notOk(isGatewayHeader('authorization'))
})
