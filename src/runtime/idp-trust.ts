// What the gateway trusts of the IdP: its entity IDs and signing certificates. Fixed from
// XC_SAML_CERT, or — with GATEWAY_IDP_METADATA_URL — refreshed from the IdP's metadata, so that
// Entra's certificate rollover needs no restart:
// - fetched at start and again when cacheDuration/validUntil say (between 5 minutes and 24 hours);
// - the last good copy is kept on disk and used when the IdP cannot be reached at start;
// - an update with no signing certificate is refused: the trust never drops to zero;
// - warnings at 60, 30 and 7 days before the active certificate expires.
import { X509Certificate } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { request } from 'undici'
import { parseIdpMetadata, type IdpMetadata } from '../sp/read/idp-metadata.js'

const MIN_REFRESH_MS = 5 * 60_000
const MAX_REFRESH_MS = 24 * 3_600_000
const DEFAULT_REFRESH_MS = 3_600_000
const RETRY_MS = 5 * 60_000
const DAY_MS = 86_400_000
export const EXPIRY_WARNING_DAYS = [60, 30, 7] as const

export interface TrustLogger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export interface IdpTrustOptions {
  /** Issuers from the configuration (Entra-derived or GATEWAY_IDP_ISSUER). */
  issuers: readonly string[]
  /** XC_SAML_CERT: the trust without metadata, and the fallback before the first metadata copy. */
  certs: readonly string[]
  metadataUrl?: string
  /** Where the last good metadata is kept. */
  cacheFile?: string
  logger?: TrustLogger
  now?: () => number
  fetchTimeoutMs?: number
}

export class IdpTrust {
  private currentCerts: readonly string[]
  private currentIssuers: readonly string[]
  private timer?: NodeJS.Timeout
  private warnedAt?: number
  private readonly now: () => number
  /** The last metadata accepted (its SSO/SLO endpoints are read once, at start). */
  metadata?: IdpMetadata
  lastRefresh?: { at: number, ok: boolean, reason?: string }

  constructor (private readonly opts: IdpTrustOptions) {
    this.now = opts.now ?? Date.now
    this.currentCerts = Object.freeze([...opts.certs])
    this.currentIssuers = Object.freeze([...opts.issuers])
  }

  /** A new array whenever the trust changes (consumers may cache per array). */
  get certs (): readonly string[] { return this.currentCerts }
  get issuers (): readonly string[] { return this.currentIssuers }

  /** When the earliest trusted certificate expires, epoch ms. */
  get certificateExpiry (): number | undefined {
    const expiries = this.currentCerts.map((pem) => Date.parse(new X509Certificate(pem).validTo))
    return expiries.length > 0 ? Math.min(...expiries) : undefined
  }

  /** Loads the metadata (or its cached copy) and schedules refreshes. */
  async start (): Promise<void> {
    if (this.opts.metadataUrl === undefined) {
      this.warnIfExpiring()
      return
    }
    const delay = await this.refresh()
    if (this.lastRefresh?.ok !== true) this.loadCachedCopy()
    this.schedule(delay)
  }

  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Fetch now; returns the delay until the next refresh. Never throws. */
  async refresh (): Promise<number> {
    const url = this.opts.metadataUrl as string
    try {
      const res = await request(url, { headersTimeout: this.opts.fetchTimeoutMs ?? 10_000, bodyTimeout: this.opts.fetchTimeoutMs ?? 10_000 })
      const body = await res.body.text()
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
      const metadata = this.accept(body)
      this.persist(body)
      this.lastRefresh = { at: this.now(), ok: true }
      return refreshDelay(metadata, this.now())
    } catch (err) {
      const reason = (err as Error).message
      this.lastRefresh = { at: this.now(), ok: false, reason }
      this.opts.logger?.error({ code: 'IDP_METADATA_REFRESH', url, reason, certs: this.currentCerts.length }, 'IdP metadata refresh failed; keeping the certificates already trusted')
      return RETRY_MS
    }
  }

  private accept (xml: string): IdpMetadata {
    const metadata = parseIdpMetadata(xml)
    if (metadata.signingCerts.length === 0) throw new Error('the metadata has no signing certificate; refusing to trust nothing')
    metadata.signingCerts.forEach((pem) => new X509Certificate(pem)) // each throws on a bad one
    if (metadata.validUntil !== undefined && metadata.validUntil <= this.now()) throw new Error(`the metadata expired (validUntil ${new Date(metadata.validUntil).toISOString()})`)
    const changed = metadata.signingCerts.join() !== this.currentCerts.join()
    if (this.metadata !== undefined && endpointsOf(this.metadata) !== endpointsOf(metadata)) {
      // The SAML entities are built at start: new endpoints take a restart, unlike certificates.
      this.opts.logger?.warn({ code: 'IDP_ENDPOINTS_CHANGED', sso: metadata.sso, slo: metadata.slo }, 'the IdP metadata names other SSO/SLO endpoints: restart the gateway to use them')
    }
    this.metadata = metadata
    this.currentCerts = Object.freeze([...metadata.signingCerts])
    if (metadata.entityId !== '' && !this.currentIssuers.includes(metadata.entityId)) {
      this.currentIssuers = Object.freeze([...this.currentIssuers, metadata.entityId])
    }
    if (changed) {
      this.opts.logger?.info({ code: 'IDP_CERTIFICATES_UPDATED', certs: this.currentCerts.map(describe) }, 'IdP signing certificates updated from metadata')
    }
    this.warnIfExpiring()
    return metadata
  }

  private loadCachedCopy (): void {
    if (this.opts.cacheFile === undefined) return
    try {
      this.accept(readFileSync(this.opts.cacheFile, 'utf8'))
      this.opts.logger?.warn({ code: 'IDP_METADATA_CACHED', file: this.opts.cacheFile }, 'using the last good copy of the IdP metadata')
    } catch {
      // No usable copy: XC_SAML_CERT, if given, remains the trust.
    }
  }

  private persist (xml: string): void {
    if (this.opts.cacheFile === undefined) return
    try {
      mkdirSync(dirname(this.opts.cacheFile), { recursive: true })
      writeFileSync(`${this.opts.cacheFile}.tmp`, xml, { mode: 0o600 })
      renameSync(`${this.opts.cacheFile}.tmp`, this.opts.cacheFile)
    } catch (err) {
      this.opts.logger?.warn({ code: 'IDP_METADATA_CACHE', reason: (err as Error).message }, 'could not keep a copy of the IdP metadata')
    }
  }

  private schedule (delay: number): void {
    this.timer = setTimeout(() => {
      this.refresh().then((next) => this.schedule(next), () => this.schedule(RETRY_MS))
    }, delay)
    this.timer.unref()
  }

  /** One warning per threshold crossed (60, 30, 7 days) for the active certificate. */
  private warnIfExpiring (): void {
    const expiry = this.certificateExpiry
    if (expiry === undefined) return
    const days = Math.floor((expiry - this.now()) / DAY_MS)
    const threshold = EXPIRY_WARNING_DAYS.filter((d) => days <= d).at(-1)
    if (threshold === undefined || this.warnedAt === threshold) return
    this.warnedAt = threshold
    this.opts.logger?.warn({ code: 'IDP_CERTIFICATE_EXPIRING', days, threshold, expires: new Date(expiry).toISOString() },
      `an IdP signing certificate expires in ${days} days: make sure the IdP's next certificate is trusted`)
  }
}

/** cacheDuration and validUntil, bounded to [5 min, 24 h]; 1 h when the metadata says nothing. */
export function refreshDelay (metadata: Pick<IdpMetadata, 'cacheDurationMs' | 'validUntil'>, nowMs: number): number {
  const candidates = [metadata.cacheDurationMs, metadata.validUntil === undefined ? undefined : (metadata.validUntil - nowMs) / 2]
    .filter((v): v is number => v !== undefined && Number.isFinite(v))
  const wanted = candidates.length > 0 ? Math.min(...candidates) : DEFAULT_REFRESH_MS
  return Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, wanted))
}

function endpointsOf (metadata: IdpMetadata): string {
  return JSON.stringify([metadata.sso, metadata.slo])
}

function describe (pem: string): { subject: string, expires: string, sha256: string } {
  const cert = new X509Certificate(pem)
  return { subject: cert.subject.replace(/\n/g, ', '), expires: new Date(cert.validTo).toISOString(), sha256: cert.fingerprint256 }
}
