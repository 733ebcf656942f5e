// pino options: secrets and SAML messages never reach a log line.
import type { FastifyRequest } from 'fastify'

export const REDACTED_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-gateway-identity"]',
  'res.headers["set-cookie"]',
  '*.SAMLResponse',
  '*.SAMLRequest',
  '*.token',
  '*.sessionId'
]

export function loggerOptions (level: string, extra?: boolean | Record<string, unknown>): Record<string, unknown> {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      // The query string of a SAML redirect carries the message and its signature: log the path only.
      req (request: FastifyRequest) {
        return { method: request.method, path: request.url.split('?')[0], remoteAddress: request.ip }
      }
    },
    ...(typeof extra === 'object' ? extra : {})
  }
}
