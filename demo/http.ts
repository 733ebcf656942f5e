// Small pieces the demo servers share: listening on a port (0 = a free one), reading a bounded
// body, and one plain, accessible page shell. Plain node:http: the demo stands in for other
// people's software, so it should not look like the gateway.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { escapeHtml } from '../src/http/pages.js'

export { escapeHtml }

/** Listens and answers the server's base URL; a taken port is reported with the variable that moves it. */
export async function listen (server: Server, port: number, host: string, what: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`${what}: port ${port} on ${host} is already in use`, { cause: err }) : err)
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
}

/** Closes the server, ending idle keep-alive connections so that close() does not wait for them. */
export async function closeServer (server: Server): Promise<void> {
  if (!server.listening) return
  await new Promise<void>((resolve, reject) => {
    server.close((err) => err === undefined ? resolve() : reject(err))
    server.closeIdleConnections()
  })
}

export async function readBody (req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw Object.assign(new Error('request body too large'), { statusCode: 413 })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

export async function readForm (req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(req)).toString('utf8'))
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;background:#f3f5f8;color:#1d2733}
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}.hint{color:#4a5866}
.button,button{display:inline-block;padding:.6rem 1.2rem;border:0;border-radius:4px;background:VAR;color:#fff;text-decoration:none;font-size:1rem;cursor:pointer}
.button:focus,button:focus,input:focus{outline:3px solid #f5a623;outline-offset:2px}
fieldset{border:0;padding:0;margin:0 0 1rem}label{display:block;padding:.5rem;border:1px solid #c8d1db;border-radius:4px;margin:.4rem 0;cursor:pointer}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem;font-size:.9rem}dd{margin:0;word-break:break-all}`

export interface PageOptions {
  title: string
  /** Already-escaped HTML. */
  body: string
  /** Accent colour, so that the IdP and Motion do not look alike. */
  accent?: string
  /** External scripts (never inline). */
  scripts?: string[]
  banner?: string
}

export function page (opts: PageOptions): string {
  const scripts = (opts.scripts ?? []).map((src) => `<script src="${escapeHtml(src)}" defer></script>\n`).join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${STYLE.replace('VAR', opts.accent ?? '#0b5cad')}</style>
${scripts}</head>
<body>
<main>
${opts.banner !== undefined ? `<p class="hint">${escapeHtml(opts.banner)}</p>\n` : ''}<h1>${escapeHtml(opts.title)}</h1>
${opts.body}
</main>
</body>
</html>
`
}

export function sendHtml (res: ServerResponse, status: number, html: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers })
  res.end(html)
}

export function sendJson (res: ServerResponse, status: number, value: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(value))
}

export function redirect (res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', ...headers })
  res.end()
}

/** Wraps a handler so that a thrown error becomes a 500 page instead of a hung request. */
export function guarded (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, what: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handler(req, res).catch((err: Error & { statusCode?: number }) => {
      if (res.headersSent) {
        res.destroy(err)
        return
      }
      const status = err.statusCode ?? 500
      sendHtml(res, status, page({ title: `${what}: error`, body: `<p>${escapeHtml(err.message)}</p>` }))
    })
  }
}
