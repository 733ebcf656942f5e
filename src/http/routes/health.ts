// Liveness and readiness, the stylesheet every page links to, and the script of the auto-post page.
// Live: the process answers (restart it if not). Ready: it can serve logins (route traffic to it).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PATHS } from '../../routes.js'
import type { GatewayStore } from '../../session/store.js'
import { checkOptions } from '../options.js'
import { AUTO_POST_SCRIPT, STYLESHEET } from '../pages.js'

export interface HealthRoutesOptions {
  store: Pick<GatewayStore, 'ping'>
}

export default async function healthRoutes (app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const { store } = checkOptions('health routes', options, ['store'])

  const readiness = async (_request: FastifyRequest, reply: FastifyReply) => {
    try {
      await store.ping()
      return { status: 'ok', live: true, ready: true, store: 'ok' }
    } catch {
      return reply.code(503).send({ status: 'unavailable', live: true, ready: false, store: 'unavailable' })
    }
  }
  app.get(PATHS.health, readiness)
  app.get(PATHS.healthReady, readiness)
  app.get(PATHS.healthLive, async () => ({ status: 'ok', live: true }))

  app.get(PATHS.stylesheet, async (_request, reply) => {
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET)
  })
  app.get(PATHS.autoPostScript, async (_request, reply) => {
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(AUTO_POST_SCRIPT)
  })
}
