import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createStore } from '../../src/session/create-store.js'
import { MemoryStore } from '../../src/session/store-memory.js'
import { SqliteStore } from '../../src/session/store-sqlite.js'

t.test('memory', async t => {
  const store = createStore('memory', { dataDir: '/nonexistent' })
  t.teardown(() => store.close())
  t.ok(store instanceof MemoryStore)
})

t.test('sqlite: <dataDir>/sessions.sqlite, creating the dir', async t => {
  const root = mkdtempSync(join(tmpdir(), 'saml-gateway-create-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dataDir = join(root, 'nested', 'data')
  const store = createStore('sqlite', { dataDir })
  t.teardown(() => store.close())
  t.ok(store instanceof SqliteStore)
  t.ok(existsSync(join(dataDir, 'sessions.sqlite')))
  await store.ping()
})

t.test('redis needs a URL', async t => {
  t.throws(() => createStore('redis', { dataDir: '/tmp' }), /Redis URL/)
  t.throws(() => createStore('nope' as never, { dataDir: '/tmp' }), /unknown session store kind/)
})
