// The demo's parts wired as production is: nginx on https is the public origin, running a
// Motion-like site with deploy/nginx/saml-gateway.conf included (or, with kind "full",
// deploy/nginx/motion-site.conf); DOMAIN is nginx's host:port, so the ACS is
// https://DOMAIN/api/auth/saml/callback; nginx sends /api/auth/saml* to the gateway and everything
// else to the stand-in Motion, which hands nothing on to the gateway itself (its own proxy is a
// development convenience: here it would be a bug).
//
// Not demo/stack.ts's startDemo: it makes the stand-in Motion's http URL the origin that the IdP
// registers (entity ID, ACS, SLO) and the gateway's DOMAIN, and has no option for another one.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config/index.js'
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js'
import { startStandInMotion, type StandInMotion } from '../../demo/motion.js'
import { freePort, makeCertificate, startNginx, type Nginx, type SiteKind } from './_nginx.js'

export interface Production {
  /** https://127.0.0.1:<nginx> — DOMAIN's origin. */
  origin: string
  nginx: Nginx
  idp: DemoIdp
  motion: StandInMotion
  gateway: FastifyInstance
  gatewayUrl: string
  config: Config
  /** Requests that reached the stand-in Motion's own gateway proxy: nginx should leave it none. */
  misrouted: () => number
  close (): Promise<void>
}

const HOST = '127.0.0.1'
const BASE_PATH = '/api/auth/saml'

export async function startProduction (dir: string, kind: SiteKind = 'motion'): Promise<Production> {
  const closers: Array<() => Promise<void>> = []
  const closeAll = async () => {
    // Front to back: nginx first, so nothing new reaches the servers behind it.
    for (const close of closers.reverse()) await close().catch(() => {})
    closers.length = 0
  }
  try {
    const [httpsPort, httpPort] = [await freePort(HOST), await freePort(HOST)]
    const origin = `https://${HOST}:${httpsPort}`
    let gatewayUrl = ''
    let misrouted = 0

    const idp = await startDemoIdp({
      host: HOST,
      spEntityId: origin,
      acsUrl: `${origin}${BASE_PATH}/callback`,
      sloUrl: `${origin}${BASE_PATH}/logout/callback`,
      dataDir: join(dir, 'idp')
    })
    closers.push(() => idp.close())
    const motion = await startStandInMotion({
      host: HOST,
      basePath: BASE_PATH,
      publicOrigin: origin,
      // Its proxy to the gateway: counted, and pointed nowhere, so a misrouted request fails loudly.
      gatewayUrl: () => { misrouted++; return `http://${HOST}:9` },
      jwksUrl: () => `${gatewayUrl}${BASE_PATH}/jwks.json`
    })
    closers.push(() => motion.close())

    const gatewayDir = join(dir, 'gateway')
    mkdirSync(gatewayDir, { recursive: true, mode: 0o700 })
    // Production settings: no GATEWAY_PUBLIC_URL (the origin is https://DOMAIN), the SQLite store.
    const config = loadConfig({
      cwd: gatewayDir,
      env: {
        DOMAIN: `${HOST}:${httpsPort}`,
        XC_SAML_ENTRYPOINT: idp.entryPoint,
        XC_SAML_CERT: idp.certPem,
        XC_SAML_ISSUER: origin,
        XC_SAML_LOGOUT_URL: idp.logoutUrl,
        GATEWAY_IDP_ISSUER: idp.issuer,
        GATEWAY_UPSTREAM_LOGIN_URL: `${motion.url}/api/login/saml`,
        // The stand-in verifies `aud` against its public origin once it has one.
        GATEWAY_UPSTREAM_AUDIENCE: origin,
        GATEWAY_LISTEN: `${HOST}:0`,
        GATEWAY_DATA_DIR: gatewayDir,
        GATEWAY_SESSION_STORE: 'sqlite'
      }
    })
    const gateway = await buildApp(config, { logger: false })
    closers.push(() => gateway.close())
    await gateway.listen({ host: config.listen.host, port: 0 })
    gatewayUrl = `http://${HOST}:${(gateway.server.address() as AddressInfo).port}`

    const nginxDir = join(dir, 'nginx')
    mkdirSync(nginxDir, { recursive: true })
    const nginx = await startNginx({
      dir: nginxDir,
      kind,
      site: {
        host: HOST,
        httpsPort,
        httpPort,
        gateway: new URL(gatewayUrl).host,
        motion: new URL(motion.url).host,
        ...await makeCertificate(nginxDir)
      }
    })
    closers.push(() => nginx.close())

    return { origin, nginx, idp, motion, gateway, gatewayUrl, config, misrouted: () => misrouted, close: closeAll }
  } catch (err) {
    await closeAll()
    throw err
  }
}
