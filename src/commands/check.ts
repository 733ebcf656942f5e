// `saml-gateway check`: the configuration test an operator runs before (re)starting, like
// `shibd -t` or oauth2-proxy's --config-test. Every problem at once, each with its variable and a
// fix; then the values to paste into Entra. Usable configuration ⇔ exit code 0.
import { X509Certificate } from 'node:crypto'
import { request } from 'undici'
import { ConfigError, loadConfig, type Config, type LoadConfigOptions } from '../config/index.js'
import { createStore } from '../session/create-store.js'
import { entraTenant } from '../sp/entra.js'
import { compareAgreement, disagreement } from '../session/shared-secrets.js'
import { identityTag, sessionTag } from '../session/shared-state.js'
import { loadIdentityKeys } from '../identity/keys.js'
import { looserModes } from '../session/file-modes.js'
import type { GatewayStore } from '../session/store.js'
import { claimMapping, formatClaimMapping, idpMetadataFindings, type ClaimMappingRow } from './check-interop.js'
import { storeProblem } from './store-command.js'

export interface CheckReport {
  ok: boolean
  problems: string[]
  warnings: string[]
  /** Values for Entra's "Basic SAML Configuration", when the configuration loaded. */
  entra?: Array<[string, string]>
  /** Where each identity claim is read from. */
  claims?: ClaimMappingRow[]
  /** Where AuthnRequests and LogoutRequests go, when IdP metadata decides it. */
  endpoints?: string[]
}

const DAY_MS = 86_400_000

export async function checkConfiguration (options: LoadConfigOptions & { timeoutMs?: number } = {}): Promise<CheckReport> {
  let config: Config
  try {
    // Certificate expiry is judged below, with a fix, instead of the loader's warning.
    config = loadConfig({ ...options, expiryWarnings: false, upstreamOptional: true })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, problems: everyProblem(options, err).map(withFix), warnings: [] }
  }
  const now = options.now ?? Date.now()
  const problems: string[] = []
  const warnings = [...config.warnings]

  certificateProblems(config, now, problems, warnings)
  issuerProblems(config, problems)
  const timeoutMs = options.timeoutMs ?? config.upstream.timeoutMs
  if (config.upstream.loginUrl === '') problems.push(withFix('GATEWAY_UPSTREAM_LOGIN_URL is required'))
  const [upstream, store, idp] = await Promise.all([
    config.upstream.loginUrl === '' ? undefined : reachUpstream(config, timeoutMs),
    reachStore(config),
    idpMetadataFindings(config, timeoutMs)
  ])
  if (upstream !== undefined) problems.push(upstream)
  problems.push(...store)
  problems.push(...idp.problems)
  warnings.push(...idp.warnings)
  warnings.push(...looserModes(config.dataDir, secretFiles(config)))

  return {
    ok: problems.length === 0,
    problems,
    warnings,
    entra: [
      ['Identifier (Entity ID)', config.sp.entityId],
      ['Reply URL (Assertion Consumer Service URL)', config.acsUrl],
      ['Logout URL (optional)', config.sloUrl],
      ['Sign on URL (optional)', `${config.publicOrigin}${config.basePath}`]
    ],
    claims: claimMapping(config),
    endpoints: idp.endpoints
  }
}

function certificateProblems (config: Config, now: number, problems: string[], warnings: string[]): void {
  config.idp.certs.forEach((pem, index) => {
    const cert = new X509Certificate(pem)
    const label = config.idp.certs.length > 1 ? `XC_SAML_CERT (certificate ${index + 1})` : 'XC_SAML_CERT'
    const expiry = Date.parse(cert.validTo)
    const days = Math.floor((expiry - now) / DAY_MS)
    if (expiry <= now) {
      problems.push(`${label}: the certificate expired on ${new Date(expiry).toISOString().slice(0, 10)}. Fix: download the current "Certificate (Base64)" from Entra (Single sign-on > SAML Certificates) and paste it`)
    } else if (days < 30) {
      warnings.push(`${label}: the certificate expires in ${days} days (${new Date(expiry).toISOString().slice(0, 10)}). Fix: add the IdP's new certificate now, comma-separated after this one`)
    }
  })
}

function issuerProblems (config: Config, problems: string[]): void {
  const entryTenant = entraTenant(config.idp.entryPoint ?? '')
  if (entryTenant === undefined) return
  for (const issuer of config.idp.issuers) {
    const tenant = entraTenant(issuer)
    if (tenant === undefined || tenant.toLowerCase() !== entryTenant.toLowerCase()) {
      problems.push(`GATEWAY_IDP_ISSUER "${issuer}" does not look like the Entra tenant of XC_SAML_ENTRYPOINT (${entryTenant}). Fix: unset GATEWAY_IDP_ISSUER (it is derived from the entry point) or set it to https://sts.windows.net/${entryTenant}/`)
    }
  }
}

/** What to do about a setting that is missing, for the variables an administrator sets by hand. */
const REQUIRED_FIX: Record<string, string> = {
  DOMAIN: "set it to Motion's public host name as the browser shows it, e.g. DOMAIN=motion.example.com (no https://, no path)",
  XC_SAML_ENTRYPOINT: 'paste Entra\'s "Login URL" (Single sign-on > Set up …), e.g. https://login.microsoftonline.com/<tenant-id>/saml2',
  XC_SAML_CERT: 'paste Entra\'s "Certificate (Base64)" (Single sign-on > SAML Certificates) on one line, or set GATEWAY_IDP_METADATA_URL to the "App Federation Metadata Url"',
  XC_SAML_ISSUER: 'set it to Entra\'s "Identifier (Entity ID)", e.g. XC_SAML_ISSUER=https://motion.example.com',
  GATEWAY_UPSTREAM_LOGIN_URL: "set it to Motion's handoff route on its local address, e.g. http://127.0.0.1:8080/api/login/saml. Stock Motion has no such route: HANDOFF.md says what to add",
  GATEWAY_REDIS_URL: 'set it to the Redis the gateways share, e.g. redis://127.0.0.1:6379, or use GATEWAY_SESSION_STORE=sqlite'
}

/** The loader's problems as `serve` would meet them: the handoff URL named too when it is missing. */
function everyProblem (options: LoadConfigOptions, lenient: ConfigError): string[] {
  try {
    loadConfig(options)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
  }
  return lenient.problems
}

/** A problem of the loader, with a Fix line where it has none. */
function withFix (problem: string): string {
  if (/\bFix:/.test(problem)) return problem
  const name = /^([A-Z][A-Z0-9_]*) is required/.exec(problem)?.[1]
  const fix = name !== undefined ? REQUIRED_FIX[name] : undefined
  return fix !== undefined ? `${problem}. Fix: ${fix}` : problem
}

/** A POST without identity: Motion's route answers 401; a 404 means it has no such route yet. */
async function reachUpstream (config: Config, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await request(config.upstream.loginUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs
    })
    await res.body.dump()
    if (res.statusCode === 404) {
      return `GATEWAY_UPSTREAM_LOGIN_URL: ${config.upstream.loginUrl} answers 404: Motion has no handoff route there. Fix: add the route HANDOFF.md describes (stock Motion has none), or correct the path`
    }
    return undefined
  } catch (err) {
    return `GATEWAY_UPSTREAM_LOGIN_URL: ${config.upstream.loginUrl} is unreachable (${(err as { code?: string }).code ?? (err as Error).message}). Fix: start Motion, or correct the URL (host, port, http/https)`
  }
}

/** The store answers, and the other gateways on it use the same secrets as this configuration. */
async function reachStore (config: Config): Promise<string[]> {
  const variable = config.session.store !== 'redis' ? 'GATEWAY_DATA_DIR' : config.session.redis.sentinels !== undefined ? 'GATEWAY_REDIS_SENTINELS' : 'GATEWAY_REDIS_URL'
  let store: GatewayStore | undefined
  try {
    store = createStore(config.session.store, { dataDir: config.dataDir, redis: config.session.redis })
    await store.ping()
  } catch (err) {
    await store?.close().catch(() => {})
    return [storeProblem(config, err)]
  }
  try {
    return await agreementProblems(config, store)
  } catch (err) {
    return [`${variable}: cannot compare the secrets with the store's (${(err as Error).message})`]
  } finally {
    await store.close()
  }
}

async function agreementProblems (config: Config, store: GatewayStore): Promise<string[]> {
  const configured = config.identity.keyFile !== undefined || config.identity.secret !== undefined
  const keys = configured ? await loadIdentityKeys({ dataDir: config.dataDir, ...config.identity }) : { alg: 'EdDSA' as const, kid: '' }
  const agreements = [
    await compareAgreement(store, 'session-secret', sessionTag(config)),
    await compareAgreement(store, 'identity', identityTag(config, keys))
  ]
  return agreements.map(disagreement).filter((d): d is string => d !== undefined)
}

/** Files the configuration names that hold a key or a secret. */
function secretFiles (config: Config): Array<[string, string]> {
  const files: Array<[string, string | undefined]> = [
    ['GATEWAY_IDENTITY_KEY', config.identity.keyFile],
    ['GATEWAY_IDENTITY_PREVIOUS_KEY', config.identity.previousKeyFile],
    ['GATEWAY_SP_KEY', config.sp.keyFile]
  ]
  return files.filter((f): f is [string, string] => f[1] !== undefined)
}

export function formatReport (report: CheckReport): string {
  const lines: string[] = []
  for (const p of report.problems) lines.push(`problem: ${p}`)
  for (const w of report.warnings) lines.push(`warning: ${w}`)
  lines.push(report.ok ? 'configuration is valid' : `configuration is NOT usable: ${report.problems.length} problem(s)`)
  if (report.entra !== undefined) {
    lines.push('', 'Paste into Entra > Enterprise applications > your app > Single sign-on > Basic SAML Configuration:')
    for (const [field, value] of report.entra) lines.push(`  ${field.padEnd(44)} ${value}`)
  }
  if (report.endpoints !== undefined) lines.push('', 'From the IdP metadata:', ...report.endpoints.map((e) => `  ${e}`))
  if (report.claims !== undefined) lines.push(...formatClaimMapping(report.claims))
  return lines.join('\n') + '\n'
}
