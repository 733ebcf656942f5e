// One way to build the gateway in tests: a config from a plain env object (never process.env),
// a temp data dir, the memory store unless told otherwise, a fixed clock, no logs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDependencies } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config/index.js'
import { MemoryStore } from '../../src/session/store-memory.js'
import { TEST_NOW, TEST_SP_ENTITY_ID, TEST_TENANT } from './idp.js'

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
export const fixture = (name: string): string => readFileSync(join(REPO_ROOT, 'fixtures', name), 'utf8')

export { TEST_TENANT as TENANT, TEST_SP_ENTITY_ID as SP_ENTITY_ID, TEST_ACS as ACS_URL, TEST_NOW } from './idp.js'
export const ENTRA_ENTRYPOINT = `https://login.microsoftonline.com/${TEST_TENANT}/saml2`

/** The env an operator would write for Motion beside Entra, with the test IdP's certificate. */
export function baseEnv (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DOMAIN: 'motion.example.com',
    XC_SAML_ENTRYPOINT: ENTRA_ENTRYPOINT,
    XC_SAML_CERT: fixture('idp.crt'),
    XC_SAML_ISSUER: TEST_SP_ENTITY_ID,
    GATEWAY_UPSTREAM_LOGIN_URL: 'http://127.0.0.1:9/api/login/saml',
    GATEWAY_SESSION_STORE: 'memory',
    GATEWAY_LOG_LEVEL: 'silent',
    ...overrides
  }
}

export function tempDir (t: { teardown: (fn: () => void) => void }, prefix = 'saml-gateway-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  clock: { now: number }
}

export async function buildTestApp (
  t: { teardown: (fn: () => unknown) => void },
  opts: { env?: Record<string, string | undefined>, now?: number, deps?: AppDependencies } = {}
): Promise<TestApp> {
  const dataDir = tempDir(t)
  const clock = { now: opts.now ?? TEST_NOW }
  const config = loadConfig({ env: baseEnv({ GATEWAY_DATA_DIR: dataDir, ...opts.env }), cwd: dataDir, now: clock.now })
  const now = () => clock.now
  const store = opts.deps?.store ?? (config.session.store === 'memory' ? new MemoryStore({ now }) : undefined)
  const app = await buildApp(config, { logger: false, now, store, ...opts.deps })
  t.teardown(() => app.close())
  return { app, config, clock }
}

/** Cookies from a response, as name → value, and as a Cookie header for the next request. */
export function cookiesOf (res: { headers: Record<string, unknown> }): Record<string, string> {
  const raw = res.headers['set-cookie']
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw as string[] : [raw as string]
  const jar: Record<string, string> = {}
  for (const line of list) {
    const [pair] = line.split(';')
    const index = pair.indexOf('=')
    jar[pair.slice(0, index).trim()] = pair.slice(index + 1).trim()
  }
  return jar
}

export function cookieHeader (jar: Record<string, string>): string {
  return Object.entries(jar).filter(([, v]) => v !== '').map(([k, v]) => `${k}=${v}`).join('; ')
}
