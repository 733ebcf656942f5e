// The validator pool answers exactly what validateLoginResponse answers, from worker threads that
// load this TypeScript source under tap (and the compiled .js once built), survives crashes and
// recycling without losing a request, and closes without leaving a thread behind.
import t from 'tap'
import { errors } from '../../src/errors.js'
import { deserializeError, errorFromCode, serializeError } from '../../src/runtime/worker-errors.js'
import { validateLoginResponse } from '../../src/sp/read/response.js'
import { ValidatorPool } from '../../src/runtime/validator-pool.js'
import { validatorWorkerUrl } from '../../src/runtime/worker-protocol.js'
import { acquireValidatorPool } from '../../src/runtime/shared-validator-pool.js'
import type { ResponseExpectations } from '../../src/sp/types.js'
import {
  ATTACKER_CERT, TEST_NOW, buildResponse, buildResponseXml, testExpectations, toBase64
} from '../helpers/idp.js'
import { buildTestApp } from '../helpers/app.js'
import { loginThroughIdp, newBrowser } from '../helpers/login.js'

const HOUR = 3_600_000

// Workers load TypeScript here (~2 s each under tap): the plain tests share one pool.
const shared = new ValidatorPool({ size: 2 })
t.teardown(() => shared.close())

/** What the inline validator throws for `b64`, or undefined when it accepts. */
function inlineError (b64: string, exp: ResponseExpectations, now = TEST_NOW): (Error & { code?: string, statusCode?: number }) | undefined {
  try {
    validateLoginResponse(b64, exp, now)
    return undefined
  } catch (err) {
    return err as Error & { code?: string, statusCode?: number }
  }
}

t.test('the worker module is found beside the pool: .ts under tap, .js once built', async (t) => {
  t.match(validatorWorkerUrl().pathname, /\/src\/runtime\/validator-worker\.ts$/)
  t.match(validatorWorkerUrl('file:///opt/gw/dist/src/runtime/validator-pool.js').pathname, /\/dist\/src\/runtime\/validator-worker\.js$/)
})

t.test('a valid response: the same value as inline validation', async (t) => {
  const pool = shared
  await pool.ready()
  const validatedBefore = pool.stats().validated
  const exp = testExpectations()
  const responses = Array.from({ length: 6 }, (_, i) => buildResponse({ nameIdXml: `user${i}@contoso.com`, sessionIndex: `_s${i}` }))
  const results = await Promise.all(responses.map(async (b64) => await pool.validate(b64, exp, TEST_NOW)))
  results.forEach((result, i) => t.strictSame(result, validateLoginResponse(responses[i], exp, TEST_NOW), `response ${i}`))
  t.equal(pool.stats().validated - validatedBefore, 6)
})

t.test('rejections come back with the same class, code, status and message', async (t) => {
  const pool = shared
  const exp = testExpectations()
  const xml = buildResponseXml()
  const cases: Array<[string, string, ResponseExpectations, number?]> = [
    ['SAML_AUDIENCE', buildResponse({ audience: 'https://other.example.com' }), exp],
    ['SAML_SIGNATURE', buildResponse({ signer: 'attacker' }), exp],
    ['SAML_EXPIRED', buildResponse(), exp, TEST_NOW + 2 * HOUR],
    ['SAML_DOCTYPE', toBase64(`<!DOCTYPE r>${xml}`), exp],
    ['SAML_SCHEMA', buildResponse({ afterSigning: (x) => x.replace('</samlp:Response>', '<Extra/></samlp:Response>') }), exp],
    ['SAML_MALFORMED', 'not*base64', exp],
    ['SAML_STATUS', buildResponse({ status: 'urn:oasis:names:tc:SAML:2.0:status:Requester' }), exp],
    ['SAML_TOO_LARGE', buildResponse(), testExpectations({ maxMessageBytes: 100 })],
    ['SAML_SIGNATURE', buildResponse(), testExpectations({ idpCerts: [ATTACKER_CERT] })]
  ]
  for (const [code, b64, e, now] of cases) {
    const expected = inlineError(b64, e, now)
    t.equal(expected?.code, code, `inline: ${code}`)
    const err = await pool.validate(b64, e, now ?? TEST_NOW).then(() => undefined, (err: unknown) => err as Error & { code?: string, statusCode?: number })
    t.ok(err instanceof (expected as Error).constructor, `${code}: same class`)
    t.equal(err?.code, code, `${code}: same code`)
    t.equal(err?.statusCode, expected?.statusCode, `${code}: same status`)
    t.ok((err?.statusCode ?? 500) >= 400 && (err?.statusCode ?? 500) < 500, `${code}: 4xx`)
    t.equal(err?.message, expected?.message, `${code}: same message`)
  }
})

t.test('new expectations (a certificate rollover) are used from the next validation on', async (t) => {
  const pool = shared
  const b64 = buildResponse()
  const exp = { ...testExpectations() }
  t.ok(await pool.validate(b64, exp, TEST_NOW))
  exp.idpCerts = [ATTACKER_CERT]
  await t.rejects(pool.validate(b64, exp, TEST_NOW), { code: 'SAML_SIGNATURE' })
  exp.idpCerts = testExpectations().idpCerts
  exp.audience = 'https://other.example.com'
  await t.rejects(pool.validate(b64, exp, TEST_NOW), { code: 'SAML_AUDIENCE' })
})

t.test('a worker that dies loses no request: its tasks are retried, a message that kills two is refused', async (t) => {
  const poison = buildResponse({ nameIdXml: 'poison@contoso.com' })
  const pool = new ValidatorPool({ size: 2, perWorker: 2, crashOn: poison })
  t.teardown(() => pool.close())
  await pool.ready()
  const exp = testExpectations()
  const innocent = Array.from({ length: 10 }, (_, i) => buildResponse({ nameIdXml: `user${i}@contoso.com` }))
  const all = [...innocent.slice(0, 3), poison, ...innocent.slice(3)]
  const settled = await Promise.allSettled(all.map(async (b64) => await pool.validate(b64, exp, TEST_NOW)))
  settled.forEach((s, i) => {
    if (all[i] === poison) {
      t.equal(s.status, 'rejected', 'the poison message is refused')
      t.match((s as PromiseRejectedResult).reason, { code: 'SAML_MALFORMED', statusCode: 400 })
    } else {
      t.equal(s.status, 'fulfilled', `innocent ${i} answered`)
      t.equal((s as PromiseFulfilledResult<{ nameId: string }>).value?.nameId, validateLoginResponse(all[i], exp, TEST_NOW).nameId)
    }
  })
  const stats = pool.stats()
  t.equal(stats.crashed, 2, 'two workers died, one per attempt')
  t.equal(stats.queued + stats.inFlight, 0, 'nothing left behind')
  t.ok(await pool.validate(innocent[0], exp, TEST_NOW), 'the pool goes on')
  t.equal(pool.stats().workers, 2, 'with as many workers as before')
})

t.test('workers are recycled after N validations or past a heap bound, without losing a request', async (t) => {
  for (const [limits, count] of [[{ maxValidations: 3 }, 7], [{ maxHeapMb: 0.001 }, 3]] as const) {
    const pool = new ValidatorPool({ size: 1, ...limits })
    t.teardown(() => pool.close())
    await pool.ready()
    const before = pool.threadIds()
    const exp = testExpectations()
    const responses = Array.from({ length: count }, (_, i) => buildResponse({ nameIdXml: `user${i}@contoso.com` }))
    const results = await Promise.all(responses.map(async (b64) => await pool.validate(b64, exp, TEST_NOW)))
    results.forEach((r, i) => t.equal(r.nameId, `user${i}@contoso.com`))
    const stats = pool.stats()
    t.ok(stats.recycled >= 2, `${JSON.stringify(limits)}: recycled ${stats.recycled} times`)
    t.equal(stats.crashed, 0)
    t.notSame(pool.threadIds(), before, 'new threads')
    t.ok(stats.workers >= 1, 'capacity kept')
  }
})

t.test('close: every thread ends, queued and later calls are refused, never left hanging', async (t) => {
  const pool = new ValidatorPool({ size: 1 })
  await pool.ready()
  const exp = testExpectations()
  const b64 = buildResponse()
  const settling = Promise.allSettled(Array.from({ length: 8 }, async () => await pool.validate(b64, exp, TEST_NOW)))
  await pool.close()
  const settled = await settling
  t.ok(settled.every((s) => s.status === 'rejected'), 'in-flight and queued calls are rejected')
  t.same(pool.threadIds(), [], 'no thread left')
  await t.rejects(pool.validate(buildResponse(), exp, TEST_NOW), /closed/)
  await pool.close() // twice is fine
})

t.test('a pool whose workers cannot start fails fast instead of hanging', async (t) => {
  const pool = new ValidatorPool({ size: 1, workerUrl: new URL('./no-such-worker.js', import.meta.url) })
  t.teardown(() => pool.close())
  await t.rejects(pool.ready(), /cannot start/)
  await t.rejects(pool.validate(buildResponse(), testExpectations(), TEST_NOW), /closed/)
})

t.test('the shared pool: one per process, counted by users, closed after the last', async (t) => {
  const a = await acquireValidatorPool({ size: 1, lingerMs: 0 })
  const b = await acquireValidatorPool({ size: 1, lingerMs: 0 })
  t.equal(a.pool, b.pool, 'the same pool')
  await a.release()
  await a.release() // twice counts once
  t.notOk(a.pool.isClosed(), 'still used by b')
  await b.release()
  t.ok(a.pool.isClosed(), 'closed with its last user')

  const c = await acquireValidatorPool({ size: 1, lingerMs: 5_000 })
  await c.release()
  const d = await acquireValidatorPool({ size: 1, lingerMs: 5_000 })
  t.equal(d.pool, c.pool, 'an app built right after another reuses the lingering pool')
  t.ok(await d.validate(buildResponse(), testExpectations(), TEST_NOW))
  await d.release()
  t.notOk(d.pool.isClosed(), 'lingers after its last user')
  await d.pool.close()
})

t.test('errorFromCode rebuilds every gateway error from its code and message', async (t) => {
  for (const Ctor of Object.values(errors)) {
    const original = new Ctor('detail')
    const rebuilt = deserializeError(serializeError(original))
    t.ok(rebuilt instanceof Ctor, `${original.code}: same class`)
    t.equal(rebuilt.code, original.code)
    t.equal(rebuilt.statusCode, original.statusCode)
    t.equal(rebuilt.message, original.message)
  }
  const unknown = errorFromCode('SOMETHING_ELSE', 'boom')
  t.equal(unknown.code, 'SOMETHING_ELSE')
  t.equal(unknown.statusCode, undefined, 'not a rejection: ends as a 500')
  t.equal(deserializeError(serializeError(new TypeError('bug'))).name, 'TypeError')
})

t.test('the app validates in the pool by default and answers rejections as before', async (t) => {
  const { app, config } = await buildTestApp(t)
  t.ok(config.validation.workers > 0, 'GATEWAY_VALIDATION_WORKERS defaults to the cores')
  const ok = await loginThroughIdp(app, newBrowser())
  t.equal(ok.acs.statusCode, 502, 'validated, session made, handoff tried (no upstream here)')
  const bad = await loginThroughIdp(app, newBrowser(), { audience: 'https://other.example.com' })
  t.equal(bad.acs.statusCode, 400)
  t.match(bad.acs.body, /SAML_AUDIENCE/)
})

t.test('GATEWAY_VALIDATION_WORKERS=0 validates on the event loop', async (t) => {
  const { app, config } = await buildTestApp(t, { env: { GATEWAY_VALIDATION_WORKERS: '0' } })
  t.equal(config.validation.workers, 0)
  const bad = await loginThroughIdp(app, newBrowser(), { audience: 'https://other.example.com' })
  t.match(bad.acs.body, /SAML_AUDIENCE/)
})
