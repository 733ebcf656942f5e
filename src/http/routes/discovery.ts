// What the IdP and the upstream fetch to trust us: GET /metadata (our SP metadata XML) and
// GET /jwks.json (the public keys that verify the identity header, the previous one included
// during a rotation).
import type { FastifyInstance } from 'fastify'
import type { JWK } from 'jose'
import { PATHS } from '../../routes.js'
import { checkOptions } from '../options.js'

export interface DiscoveryRoutesOptions {
  /** The SP metadata XML. */
  metadata: () => string
  jwks: () => { keys: JWK[] }
}

export default async function discoveryRoutes (app: FastifyInstance, options: DiscoveryRoutesOptions): Promise<void> {
  const { metadata, jwks } = checkOptions('discovery routes', options, ['metadata', 'jwks'])

  app.get(PATHS.metadata, async (_request, reply) => {
    return reply.type('application/samlmetadata+xml; charset=utf-8').send(metadata())
  })

  app.get(PATHS.jwks, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return jwks()
  })
}
