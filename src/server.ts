// Entry point: configuration, app, listen; close gracefully on SIGINT/SIGTERM. No logic here.
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config/index.js'

export async function serve (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`saml-gateway: ${err.message}\n`)
      process.exitCode = 78 // EX_CONFIG
      return
    }
    throw err
  }
  const app = await buildApp(config)
  for (const warning of config.warnings) app.log.warn({ code: 'CONFIG_WARNING' }, warning)

  let closing = false
  const close = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'closing')
    app.close().then(() => process.exit(0), (err) => { app.log.error({ err }, 'close failed'); process.exit(1) })
  }
  process.once('SIGINT', close)
  process.once('SIGTERM', close)

  await app.listen({ host: config.listen.host, port: config.listen.port })
  app.log.info({ acs: config.acsUrl, entityId: config.sp.entityId, store: config.session.store }, 'saml-gateway ready')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((err) => {
    process.stderr.write(`saml-gateway: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
