// Just enough of a browser for SAML's front channel: a cookie jar, redirects followed, forms that
// auto-submit (SAMLRequest / SAMLResponse) posted as a browser's script would. The gateway's origin
// is served by Fastify's inject (through "nginx over TLS"); every other origin over real HTTP.
// Like a current browser it says where a request comes from: Sec-Fetch-Site on every navigation,
// Origin on every form POST (the gateway's login- and logout-CSRF checks read them).
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { parseSetCookie } from '../helpers/set-cookie.js'

export interface Page {
  url: string
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** The Sec-Fetch-Site it was fetched with: a redirect chain keeps the least related value. */
  site: Site
}
type Site = 'none' | 'same-origin' | 'same-site' | 'cross-site'
const SITE_ORDER: Site[] = ['none', 'same-origin', 'same-site', 'cross-site']
export interface Form { action: string, method: string, fields: Array<[string, string]> }
interface Cookie { host: string, name: string, value: string, path: string }

const REDIRECTS = [301, 302, 303, 307, 308]

export class Browser {
  readonly cookies = new Map<string, Cookie>()
  /** Every request, as "METHOD origin+path", in order. */
  readonly visited: string[] = []

  constructor (private readonly gateway: { origin: string, app: FastifyInstance, tick?: () => void }) {}

  /** A navigation: typed (no `from`), a redirect or a form submission from the page `from`. */
  async go (url: string, init: { method?: string, form?: Array<[string, string]>, headers?: Record<string, string>, from?: Page } = {}): Promise<Page> {
    const target = new URL(url)
    const method = init.method ?? (init.form !== undefined ? 'POST' : 'GET')
    const site = init.from === undefined ? 'none' : leastRelated(init.from.site === 'none' ? 'same-origin' : init.from.site, relation(new URL(init.from.url), target))
    const cookie = [...this.cookies.values()]
      .filter((c) => c.host === target.hostname && pathMatches(target.pathname, c.path))
      .map((c) => `${c.name}=${c.value}`).join('; ')
    const headers: Record<string, string> = {
      accept: 'text/html,application/xhtml+xml',
      ...(cookie !== '' ? { cookie } : {}),
      ...(init.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      'sec-fetch-site': site,
      ...(method === 'POST' ? { origin: init.from === undefined ? 'null' : new URL(init.from.url).origin } : {}),
      ...init.headers
    }
    const body = init.form !== undefined ? new URLSearchParams(init.form).toString() : undefined
    this.visited.push(`${method} ${target.origin}${target.pathname}`)
    const fetched = target.origin === this.gateway.origin
      ? await this.inject(target, method, headers, body)
      : await this.fetch(target, method, headers, body)
    const page = { ...fetched, site }
    for (const line of ([] as string[]).concat(page.headers['set-cookie'] ?? [])) this.keep(line, target)
    return page
  }

  /**
   * Follow redirects and auto-posting SAML forms until a page that is neither, or one on `stopAt`
   * (an origin+path prefix) is reached. The pages passed through are returned too.
   */
  async follow (page: Page, opts: { stopAt?: (url: URL) => boolean, max?: number } = {}): Promise<{ page: Page, trail: Page[] }> {
    const trail: Page[] = [page]
    for (let step = 0; step < (opts.max ?? 12); step++) {
      if (opts.stopAt?.(new URL(page.url)) === true && step > 0) break
      if (REDIRECTS.includes(page.status) && page.headers.location !== undefined) {
        page = await this.go(new URL(String(page.headers.location), page.url).href, { from: page })
      } else {
        const form = formsOf(page.body).find((f) => f.fields.some(([name]) => name === 'SAMLResponse' || name === 'SAMLRequest'))
        if (page.status !== 200 || form === undefined) break
        page = await this.submit(page, form)
      }
      trail.push(page)
    }
    return { page, trail }
  }

  async submit (page: Page, form: Form, choose: Record<string, string> = {}): Promise<Page> {
    const fields = form.fields.filter(([name]) => !(name in choose))
    for (const [name, v] of Object.entries(choose)) fields.push([name, v])
    const action = form.action === '' ? page.url : new URL(form.action, page.url).href
    if (form.method.toUpperCase() === 'GET') {
      const url = new URL(action)
      for (const [k, v] of fields) url.searchParams.append(k, v)
      return this.go(url.href, { from: { ...page, site: 'same-origin' } })
    }
    // A form starts a new chain from its own page.
    return this.go(action, { method: 'POST', form: fields, from: { ...page, site: 'same-origin' } })
  }

  cookie (host: string, name: string): string | undefined {
    return [...this.cookies.values()].find((c) => c.host === host && c.name === name)?.value
  }

  private async inject (target: URL, method: string, headers: Record<string, string>, body?: string): Promise<Omit<Page, 'site'>> {
    this.gateway.tick?.()
    const res = await this.gateway.app.inject({
      method: method as 'GET',
      url: `${target.pathname}${target.search}`,
      headers: { host: target.host, 'x-forwarded-proto': target.protocol.replace(':', ''), ...headers },
      payload: body
    })
    return { url: target.href, status: res.statusCode, headers: res.headers as Page['headers'], body: res.body }
  }

  private async fetch (target: URL, method: string, headers: Record<string, string>, body?: string): Promise<Omit<Page, 'site'>> {
    const res = await request(target, { method: method as 'GET', headers, body })
    return { url: target.href, status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }

  private keep (line: string, url: URL): void {
    const { expired, ...read } = parseSetCookie(line, url)
    const cookie: Cookie = { host: url.hostname, ...read }
    const key = `${cookie.host}\t${cookie.path}\t${cookie.name}`
    if (expired || cookie.value === '') this.cookies.delete(key)
    else this.cookies.set(key, cookie)
  }
}

/** Sec-Fetch-Site between two URLs: same origin, same host (ports apart: same site), or not. */
function relation (from: URL, to: URL): Site {
  if (from.origin === to.origin) return 'same-origin'
  return from.hostname === to.hostname ? 'same-site' : 'cross-site'
}

const leastRelated = (a: Site, b: Site): Site => SITE_ORDER[Math.max(SITE_ORDER.indexOf(a), SITE_ORDER.indexOf(b))]

function pathMatches (path: string, cookiePath: string): boolean {
  return path === cookiePath || path.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`)
}

const unescape = (s: string): string => s
  .replace(/&quot;/g, '"').replace(/&#0*39;/g, "'").replace(/&#x0*27;/gi, "'").replace(/&#x2F;/gi, '/')
  .replace(/&#0*43;/g, '+').replace(/&#x2B;/gi, '+').replace(/&#0*61;/g, '=').replace(/&#x3D;/gi, '=')
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

function attrs (tag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of tag.matchAll(/([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1].toLowerCase()] = unescape(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return out
}

export function formsOf (html: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const form = attrs(m[1])
    const fields: Array<[string, string]> = []
    for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = attrs(input[1])
      if (a.name === undefined || a.type === 'submit' || (a.type === 'checkbox' && !('checked' in a))) continue
      fields.push([a.name, a.value ?? ''])
    }
    return { action: form.action ?? '', method: form.method ?? 'get', fields }
  })
}
