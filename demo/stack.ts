// The whole demo in one process: the demo IdP, the gateway and the stand-in Motion (which is also
// the "nginx" in front of both), wired as an operator would wire them, on loopback.
//
//   browser → Motion :3000 ──/api/auth/saml/*──> gateway :3100 ──handoff──> Motion /api/login/saml
//   browser ↔ IdP :3200 (AuthnRequest by redirect, SAMLResponse auto-posted back through Motion)
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDependencies } from '../src/app.js'
import { loadConfig, type Config } from '../src/config/index.js'
import { startDemoIdp, type DemoIdp } from './idp.js'
import { startStandInMotion, type StandInMotion } from './motion.js'

export const DEFAULT_PORTS = { motion: 3000, gateway: 3100, idp: 3200 } as const

export interface DemoOptions {
  /** 0: free ports for all three (tests); or per server; default 3000/3100/3200. */
  ports?: 0 | Partial<Record<keyof typeof DEFAULT_PORTS, number>>
  /** Everything the demo keeps: <dataDir>/idp (its key), <dataDir>/gateway (GATEWAY_DATA_DIR). */
  dataDir: string
  host?: string
  store?: 'sqlite' | 'memory'
  /** Gateway logs: false for none (tests); default pino to stdout at GATEWAY_LOG_LEVEL. */
  logger?: AppDependencies['logger']
  logLevel?: string
  /** More gateway variables, applied last. */
  env?: Record<string, string>
}

export interface DemoStack {
  motionUrl: string
  gatewayUrl: string
  idpUrl: string
  idp: DemoIdp
  motion: StandInMotion
  app: FastifyInstance
  config: Config
  close (): Promise<void>
}

export async function startDemo (opts: DemoOptions): Promise<DemoStack> {
  const host = opts.host ?? '127.0.0.1'
  const ports = opts.ports === 0 ? { motion: 0, gateway: 0, idp: 0 } : { ...DEFAULT_PORTS, ...opts.ports }
  const dataDir = resolve(opts.dataDir)
  const gatewayDir = join(dataDir, 'gateway')
  const basePath = '/api/auth/saml'
  let motion: StandInMotion | undefined
  let idp: DemoIdp | undefined
  let app: FastifyInstance | undefined
  const closeAll = async () => {
    // Front to back: Motion (the proxy) first, so nothing new reaches the gateway while it closes.
    const errors: unknown[] = []
    for (const server of [motion, app, idp]) await server?.close().catch((err: unknown) => errors.push(err))
    motion = app = idp = undefined
    if (errors.length > 0) throw errors[0]
  }

  try {
    // Motion first: its URL is the public origin that the IdP and the gateway are configured with.
    let gatewayUrl = ''
    motion = await startStandInMotion({ port: ports.motion, host, basePath, gatewayUrl: () => gatewayUrl })
    idp = await startDemoIdp({
      port: ports.idp,
      host,
      spEntityId: motion.url,
      acsUrl: `${motion.url}${basePath}/callback`,
      sloUrl: `${motion.url}${basePath}/logout/callback`,
      dataDir: join(dataDir, 'idp')
    })

    await mkdir(gatewayDir, { recursive: true, mode: 0o700 })
    // A plain env object, never process.env; cwd = the gateway's data dir, where no stray .env lives.
    const config = loadConfig({
      cwd: gatewayDir,
      env: {
        DOMAIN: new URL(motion.url).host,
        GATEWAY_PUBLIC_URL: motion.url, // plain http: demo only
        XC_SAML_ENTRYPOINT: idp.entryPoint,
        XC_SAML_CERT: certificateBody(idp.certPem), // as Motion's .env holds it: one base64 line
        XC_SAML_ISSUER: motion.url,
        XC_SAML_LOGOUT_URL: idp.logoutUrl,
        GATEWAY_IDP_ISSUER: idp.issuer,
        GATEWAY_UPSTREAM_LOGIN_URL: `${motion.url}/api/login/saml`,
        GATEWAY_UPSTREAM_LOGOUT_URL: `${motion.url}/api/logout/saml`,
        GATEWAY_LISTEN: `${host}:${ports.gateway}`,
        GATEWAY_BASE_PATH: basePath,
        GATEWAY_DATA_DIR: gatewayDir,
        GATEWAY_SESSION_STORE: opts.store ?? 'sqlite',
        GATEWAY_LOG_LEVEL: opts.logLevel ?? 'info',
        ...opts.env
      }
    })
    app = await buildApp(config, { logger: opts.logger })
    try {
      await app.listen({ host: config.listen.host, port: config.listen.port })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new Error(`gateway (DEMO_GATEWAY_PORT): port ${config.listen.port} on ${host} is already in use`, { cause: err })
      }
      throw err
    }
    gatewayUrl = `http://${host}:${(app.server.address() as AddressInfo).port}`

    return {
      motionUrl: motion.url,
      gatewayUrl,
      idpUrl: idp.url,
      idp,
      motion,
      app,
      config,
      close: closeAll
    }
  } catch (err) {
    await closeAll().catch(() => {})
    throw err
  }
}

function certificateBody (pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '')
}
