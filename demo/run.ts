// `npm run demo`: the demo IdP, the gateway and a stand-in Motion, no .env needed. They listen on
// DEMO_HOST (127.0.0.1; the server's own address to open the demo from another machine, which is
// also the address in every URL the demo makes).
// Ports: DEMO_MOTION_PORT (3000), DEMO_GATEWAY_PORT (3100), DEMO_IDP_PORT (3200); data in
// DEMO_DATA_DIR (./data/demo); gateway logs at DEMO_LOG_LEVEL (info). Ctrl-C stops it.
import { resolve } from 'node:path'
import { DEFAULT_PORTS, startDemo } from './stack.js'
import { DEMO_PEOPLE } from './idp.js'

function port (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number (got ${JSON.stringify(raw)})`)
  return value
}

function host (): string {
  const raw = (process.env.DEMO_HOST ?? '').trim()
  if (raw === '') return '127.0.0.1'
  if (raw === '0.0.0.0' || raw === '::') {
    throw new Error(`DEMO_HOST must be the address a browser will use (e.g. this server's LAN address), not ${raw}: it goes into every URL of the demo`)
  }
  return raw
}

/** How to reach a loopback demo from another machine: an SSH tunnel for the two ports a browser uses. */
function fromLaptop (motionUrl: string, idpUrl: string): string {
  const motion = new URL(motionUrl)
  if (motion.hostname !== '127.0.0.1') return ''
  const idp = new URL(idpUrl)
  return `From a laptop: ssh -L ${motion.port}:127.0.0.1:${motion.port} -L ${idp.port}:127.0.0.1:${idp.port} <this server>,
  then open ${motionUrl}/ on the laptop; or start the demo with DEMO_HOST=<this server's address>.

  `
}

async function main (): Promise<void> {
  const demo = await startDemo({
    host: host(),
    ports: {
      motion: port('DEMO_MOTION_PORT', DEFAULT_PORTS.motion),
      gateway: port('DEMO_GATEWAY_PORT', DEFAULT_PORTS.gateway),
      idp: port('DEMO_IDP_PORT', DEFAULT_PORTS.idp)
    },
    dataDir: resolve(process.env.DEMO_DATA_DIR ?? 'data/demo'),
    logLevel: process.env.DEMO_LOG_LEVEL ?? 'info'
  })

  let closing = false
  const stop = (signal: string) => {
    if (closing) return
    closing = true
    process.stdout.write(`\n${signal}: stopping the demo…\n`)
    demo.close().then(() => process.exit(0), (err: Error) => {
      process.stderr.write(`demo: close failed: ${err.message}\n`)
      process.exit(1)
    })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))

  const people = DEMO_PEOPLE.map((p) => `      ${p.givenName} ${p.surname} <${p.email}>${p.note !== undefined ? ` — ${p.note}` : ''}`).join('\n')
  process.stdout.write(`
  saml-gateway demo is running.

    Open ${demo.motionUrl}/  and press "Login with SAML".

    Motion (stand-in, and the nginx in front)  ${demo.motionUrl}
    gateway                                     ${demo.gatewayUrl}  (behind Motion at ${demo.config.basePath})
    demo IdP                                    ${demo.idpUrl}  (IdP-initiated sign-in at ${demo.idpUrl}/)

    People at the IdP:
${people}

  ${fromLaptop(demo.motionUrl, demo.idpUrl)}Data (IdP key, gateway SQLite store and keys): ${demo.config.dataDir.replace(/[/\\]gateway$/, '')}
  Ctrl-C stops everything.

`)
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`)
  process.exit(1)
})
