// What every interop test needs: its tools (Debian packages) or a clear skip, keys made by openssl,
// an IdP process on a free loopback port, and the gateway configured as an operator would for it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config/index.js'
import { MemoryStore } from '../../src/session/store-memory.js'
import { startUpstream, type StubUpstream } from '../helpers/upstream.js'
import { Browser } from './_browser.js'

export const IDPS_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), 'idps')
export const PYTHON = '/usr/bin/python3' // Debian's, where python3-pysaml2 and python3-lasso live
export const SP_ORIGIN = 'https://motion.example.com'
export const SP_ENTITY_ID = SP_ORIGIN
export const BASE = `${SP_ORIGIN}/api/auth/saml`

interface Teardown { teardown: (fn: () => unknown) => void }
interface Gate extends Teardown {
  fail: (message: string) => void
  test: (name: string, opts: { skip: string }, fn: () => void) => unknown
}

/** Which of the named requirements are missing; each check runs a probe, not a guess. */
export function missingTools (need: Array<'openssl' | 'xmlsec1' | 'pysaml2' | 'lasso' | 'simplesamlphp'>): string[] {
  const ok = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0
  const probes: Record<string, () => boolean> = {
    openssl: () => ok('openssl', ['version']),
    xmlsec1: () => ok('xmlsec1', ['--version']),
    pysaml2: () => ok(PYTHON, ['-c', 'import saml2.server']),
    lasso: () => ok(PYTHON, ['-c', 'import lasso']),
    simplesamlphp: () => ok('php', ['-r', 'exit(extension_loaded("dom") && extension_loaded("mbstring") && is_file("/usr/share/simplesamlphp/www/index.php") ? 0 : 1);'])
  }
  return need.filter((name) => !probes[name]())
}

/**
 * True when the tools are there. Otherwise one clear line: a failure in CI (.ci/run installs
 * them, so their absence there is a broken CI), a skip elsewhere.
 */
export function haveTools (t: Gate, idp: string, missing: string[], packages: string): boolean {
  if (missing.length === 0) return true
  const message = `${idp} interop: missing ${missing.join(', ')} (apt-get install -y ${packages})`
  if (process.env.CI !== undefined && process.env.CI !== '') t.fail(message)
  else t.test(`${idp} interop`, { skip: message }, () => {})
  return false
}

export function tempDir (t: Teardown, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface KeyPair { keyFile: string, certFile: string, certPem: string, certBody: string }

/** An RSA-2048 key and a self-signed certificate for `name`, made by openssl in `dir`. */
export function makeKeyPair (dir: string, name: string): KeyPair {
  const keyFile = join(dir, `${name}.key`)
  const certFile = join(dir, `${name}.crt`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
    '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' })
  const certPem = readFileSync(certFile, 'utf8')
  return { keyFile, certFile, certPem, certBody: certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '') }
}

export interface IdpProcess { port: number, origin: string, child: ChildProcess, output: () => string }

/** Start a server process and wait for its "LISTENING <port>" line (or a `ready` URL answering). */
export async function startProcess (t: Teardown, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string, port?: number, ready?: string } = {}): Promise<IdpProcess> {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGTERM') })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start in 20 s:\n${output}`)), 20_000)
    const seen = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /LISTENING (\d+)/.exec(output) ?? (opts.ready !== undefined && output.includes(opts.ready) ? [opts.ready, String(opts.port)] : null)
      if (match !== null) { clearTimeout(timer); resolve(Number(match[1])) }
    }
    child.stdout?.on('data', seen)
    child.stderr?.on('data', seen)
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited (${String(code)}):\n${output}`)) })
  })
  return { port, origin: `http://127.0.0.1:${port}`, child, output: () => output }
}

/** The IdP as its own metadata describes it: what an operator copies into the gateway's settings. */
export interface IdpDescription { entityId: string, certBody: string, ssoRedirect: string, sloRedirect?: string, sloPost?: string, ssoPost?: string }

export function describeIdp (metadata: string): IdpDescription {
  const binding = (service: string, kind: 'Redirect' | 'POST'): string | undefined =>
    new RegExp(`<(?:\\w+:)?${service}\\b[^>]*Binding="urn:oasis:names:tc:SAML:2\\.0:bindings:HTTP-${kind}"[^>]*Location="([^"]+)"`).exec(metadata)?.[1] ??
    new RegExp(`<(?:\\w+:)?${service}\\b[^>]*Location="([^"]+)"[^>]*Binding="urn:oasis:names:tc:SAML:2\\.0:bindings:HTTP-${kind}"`).exec(metadata)?.[1]
  const entityId = /<(?:\w+:)?EntityDescriptor\b[^>]*entityID="([^"]+)"/.exec(metadata)?.[1]
  const idpPart = metadata.slice(metadata.search(/<(?:\w+:)?IDPSSODescriptor\b/))
  const certBody = /<(?:\w+:)?X509Certificate>([^<]+)</.exec(idpPart)?.[1]?.replace(/\s+/g, '')
  const ssoRedirect = binding('SingleSignOnService', 'Redirect')
  if (entityId === undefined || certBody === undefined || ssoRedirect === undefined) throw new Error(`IdP metadata without entityID, certificate or SSO: ${metadata.slice(0, 400)}`)
  return { entityId, certBody, ssoRedirect, ssoPost: binding('SingleSignOnService', 'POST'), sloRedirect: binding('SingleLogoutService', 'Redirect'), sloPost: binding('SingleLogoutService', 'POST') }
}

export interface Gateway {
  app: FastifyInstance
  config: Config
  upstream: StubUpstream
  logouts: StubUpstream
  /** The gateway's log lines, parsed. */
  logs: Array<Record<string, unknown>>
  browser: () => Browser
  metadata: () => Promise<string>
}

/**
 * The gateway as an operator configures it for this IdP: Motion's variables, the IdP's metadata
 * file (its entity ID, certificate and endpoints), or its URL when `env` names one, or with `manual`
 * the same values copied into XC_SAML_* by hand; the SP key; on the memory store, validating inline. Its clock is explicit:
 * the IdPs are real processes on the real clock, so every browser step sets it to the real time.
 */
export async function startGateway (t: Teardown, idpMetadata: string, sp: KeyPair | undefined, env: Record<string, string> = {}, manual = false): Promise<Gateway> {
  const clock = { now: Date.now() }
  const now = (): number => clock.now
  let app: FastifyInstance | undefined
  const verify = { issuer: BASE, jwks: () => app!.gateway.identityKeys.jwks as { keys: unknown[] }, now }
  const upstream = await startUpstream(verify)
  const logouts = await startUpstream({ ...verify, audience: () => new URL(upstream.url).origin }, '/api/logout/saml')
  t.teardown(() => upstream.close())
  t.teardown(() => logouts.close())
  const dataDir = tempDir(t, 'saml-gateway-interop-')
  const idp = describeIdp(idpMetadata)
  const idpSettings: Record<string, string> = manual
    ? {
        XC_SAML_ENTRYPOINT: idp.ssoRedirect,
        XC_SAML_CERT: idp.certBody,
        ...(idp.sloRedirect !== undefined ? { XC_SAML_LOGOUT_URL: idp.sloRedirect } : {}),
        GATEWAY_IDP_ISSUER: idp.entityId
      }
    : env.GATEWAY_IDP_METADATA_URL !== undefined
      ? {} // the gateway fetches it from the IdP itself
      : { GATEWAY_IDP_METADATA_FILE: writeFile(dataDir, 'idp-metadata-file.xml', idpMetadata) }
  const config = loadConfig({
    cwd: dataDir,
    now: clock.now,
    env: {
      DOMAIN: new URL(SP_ORIGIN).host,
      XC_SAML_ISSUER: SP_ENTITY_ID,
      ...idpSettings,
      ...(sp !== undefined ? { GATEWAY_SP_KEY: sp.keyFile, GATEWAY_SP_CERT: sp.certFile } : {}),
      GATEWAY_UPSTREAM_LOGIN_URL: upstream.url,
      GATEWAY_UPSTREAM_LOGOUT_URL: logouts.url,
      GATEWAY_DATA_DIR: dataDir,
      GATEWAY_SESSION_STORE: 'memory',
      GATEWAY_VALIDATION_WORKERS: '0',
      GATEWAY_LOG_LEVEL: 'info',
      ...env
    }
  })
  // The log is kept for the tests: what the gateway tells an operator is part of the behaviour.
  const logs: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } }
  app = await buildApp(config, { logger: { stream }, now, store: new MemoryStore({ now }) })
  t.teardown(() => app!.close())
  const gatewayApp = app
  const tick = (): void => { clock.now = Date.now() }
  return {
    app: gatewayApp,
    config,
    upstream,
    logouts,
    logs,
    browser: () => new Browser({ origin: SP_ORIGIN, app: gatewayApp, tick }),
    metadata: async () => (await gatewayApp.inject({ url: '/api/auth/saml/metadata' })).body
  }
}

/** The IdP's metadata with only its HTTP-POST SingleLogoutService: what an IdP that takes POST only publishes. */
export function sloPostOnly (metadata: string): string {
  return metadata.replace(/<(?:\w+:)?SingleLogoutService\b[^>]*HTTP-Redirect[^>]*(?:\/>|>\s*<\/(?:\w+:)?SingleLogoutService>)/g, '')
}

export interface IdpEvent { kind: string, [field: string]: unknown }

/** An IdP script of ours (idps/*.py) with /metadata, /control and /events, and how to set up a case. */
export interface ScriptedIdp<Case> {
  dir: string
  spKeys: KeyPair
  proc: IdpProcess
  idpMetadata: string
  /** What the IdP recorded since the last setup: events of these kinds, and errors. */
  events: (...kinds: string[]) => Promise<IdpEvent[]>
  /** A gateway for this case, and the IdP told to trust its metadata and to answer as the case says. */
  setup: (t: Teardown, c: Case, env?: Record<string, string>, sp?: KeyPair, idpMetadata?: string) => Promise<Gateway>
}

export async function startScriptedIdp<Case> (t: Teardown, script: string, name: string): Promise<ScriptedIdp<Case>> {
  const dir = tempDir(t, `saml-gateway-${name}-`)
  const idpKeys = makeKeyPair(dir, `${name}-idp`)
  const spKeys = makeKeyPair(dir, 'gateway-sp')
  const proc = await startProcess(t, PYTHON, [join(IDPS_DIR, script), dir, idpKeys.keyFile, idpKeys.certFile])
  const idpMetadata = await (await request(`${proc.origin}/metadata`)).body.text()
  const events = async (...kinds: string[]): Promise<IdpEvent[]> =>
    (await (await request(`${proc.origin}/events`)).body.json() as IdpEvent[]).filter((e) => kinds.includes(e.kind) || e.kind === 'error')
  const setup = async (t: Teardown, c: Case, env: Record<string, string> = {}, sp: KeyPair = spKeys, metadata = idpMetadata): Promise<Gateway> => {
    const gw = await startGateway(t, metadata, sp, env)
    const res = await request(`${proc.origin}/control`, { method: 'POST', body: JSON.stringify({ sp_metadata: await gw.metadata(), case: c }) })
    if (res.statusCode !== 200) throw new Error(`${name} refused the SP metadata: ${await res.body.text()}`)
    await res.body.dump()
    return gw
  }
  return { dir, spKeys, proc, idpMetadata, events, setup }
}

export function writeFile (dir: string, name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}
