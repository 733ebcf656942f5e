// Expectations are named by content: the same content, one id, whether it is a snapshot of the
// same object again or an equal one built anew; a new certificate list is a new id.
import t from 'tap'
import { ExpectationIds } from '../../src/runtime/expectation-ids.js'

const certsA = Object.freeze(['MIIA'])
const certsB = Object.freeze(['MIIB'])
const live = { certs: certsA }
const exp = { allowSha1: false, clockSkewMs: 180_000, audience: 'https://motion.example.com', get idpCerts () { return live.certs } }

t.test('the same expectations, the same id; other content, another id', async (t) => {
  const ids = new ExpectationIds()
  const first = ids.idOf({ ...exp })
  t.equal(ids.idOf({ ...exp }), first, 'a snapshot of the same expectations again')
  t.equal(ids.idOf(JSON.parse(JSON.stringify({ ...exp }))), first, 'an equal object built anew (compared by content)')
  t.not(ids.idOf({ ...exp, clockSkewMs: 0 }), first, 'another value')
  live.certs = certsB
  const rolled = ids.idOf({ ...exp })
  t.not(rolled, first, 'after a certificate rollover (a new array)')
  live.certs = certsA
  t.equal(ids.idOf({ ...exp }), first, 'back to the first certificates: the first id')
  t.not(ids.idOf({ allowSha1: false, clockSkewMs: 180_000, audience: 'https://motion.example.com' }), first, 'fewer properties')
})

t.test('many distinct expectations: ids stay distinct, the memory bounded', async (t) => {
  const ids = new ExpectationIds()
  const seen = new Set<number>()
  for (let i = 0; i < 200; i++) seen.add(ids.idOf({ ...exp, clockSkewMs: i }))
  t.equal(seen.size, 200)
})
