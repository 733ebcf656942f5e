// SAML time: xs:dateTime values, and validity windows judged with the clock skew on both sides.
import { errors, withDetail } from '../../errors.js'
import { attr } from './xml.js'

type ErrorClass = typeof errors.SamlExpired

/** Validity checks with the skew on both sides: [NotBefore - skew, NotOnOrAfter + skew). */
export class TimeWindow {
  constructor (private readonly now: number, private readonly skew: number) {}

  instant (el: Element | null, name: string): number | undefined {
    const value = el == null ? undefined : attr(el, name)
    return value == null ? undefined : parseInstant(value, name)
  }

  /** `element` names where the time was read, for the log line of a rejection. */
  notBefore (start: number | undefined, element: string): void {
    if (start != null && this.now < start - this.skew) {
      throw withDetail(new errors.SamlNotYetValid(), { element, notBefore: iso(start), ...this.clock() })
    }
  }

  notOnOrAfter (end: number | undefined, Err: ErrorClass, element: string): void {
    if (end != null && this.now >= end + this.skew) {
      throw withDetail(new Err(), { element, notOnOrAfter: iso(end), ...this.clock() })
    }
  }

  /** The gateway's own time and tolerance, for the log beside the assertion's times. */
  private clock (): { gatewayClock: string, skew: string } {
    return { gatewayClock: iso(this.now), skew: `${Math.round(this.skew / 1000)}s` }
  }
}

const iso = (ms: number): string => new Date(ms).toISOString()

const DATE_TIME = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/

/** xs:dateTime → epoch ms. SAML times are UTC; a missing zone is read as UTC, digits past ms dropped. */
export function parseInstant (value: string, name = 'time'): number {
  const m = DATE_TIME.exec(value.trim())
  if (m == null) throw new errors.SamlSchema(`${name} is not an xs:dateTime`)
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m
  const ms = Number((frac + '00').slice(0, 3))
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  if (zone !== 'Z') t -= (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4))) * 60_000
  if (!Number.isFinite(t)) throw new errors.SamlSchema(`${name} is out of range`)
  return t
}
