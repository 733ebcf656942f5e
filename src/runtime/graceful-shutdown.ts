// SIGTERM (systemd stop, a rolling restart): the instance leaves without failing a login.
// 1. Drain: for a moment it still serves everything, but every response says `Connection: close`,
//    so nginx stops reusing kept-alive connections to it (it then opens new ones to the other
//    instance once this one refuses them).
// 2. Close: no new connections; the requests in flight (a login halfway through its handoff)
//    finish; requests that arrive on a connection still open are served too (Fastify's
//    return503OnClosing is off), each closing its connection. Then the store is closed.
//    Connections that were still queued at the listener when it closed are reset by the kernel
//    before the gateway read anything of them: nginx passes those requests on to another gateway,
//    POSTs too (deploy/nginx/saml-gateway.conf, "non_idempotent").
// 3. Exit 0. If the requests in flight outlast the bound, they are cut and the exit status is 1.
import type { FastifyInstance } from 'fastify'

export interface ShutdownOptions {
  /** How long to keep serving with `Connection: close` before closing the listener. */
  drainMs: number
  /** The most the requests in flight may take after that. */
  timeoutMs: number
  exit: (code: number) => void
}

export const DEFAULT_SHUTDOWN: Omit<ShutdownOptions, 'exit'> = { drainMs: 1000, timeoutMs: 10_000 }

export function onShutdownSignal (app: FastifyInstance, opts: ShutdownOptions): (signal: string) => void {
  let closing = false
  let draining = false
  app.server.on('request', (_req, res) => {
    if (draining && !res.headersSent) res.setHeader('connection', 'close')
  })
  return (signal: string) => {
    if (closing) return
    closing = true
    draining = true
    app.log.info({ signal, drainMs: opts.drainMs, timeoutMs: opts.timeoutMs }, 'shutting down: draining connections')
    setTimeout(() => {
      const cut = setTimeout(() => {
        app.log.warn({ code: 'SHUTDOWN_TIMEOUT' }, 'requests still in flight at the shutdown bound: cutting them')
        app.server.closeAllConnections()
        opts.exit(1)
      }, opts.timeoutMs)
      cut.unref()
      app.close().then(() => {
        clearTimeout(cut)
        app.log.info({ signal }, 'closed: requests in flight finished, store closed')
        opts.exit(0)
      }, (err) => {
        clearTimeout(cut)
        app.log.error({ err }, 'close failed')
        opts.exit(1)
      })
    }, opts.drainMs).unref()
  }
}
