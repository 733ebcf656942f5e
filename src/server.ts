// Entry point: configuration, app, listen; close gracefully on SIGINT/SIGTERM. No logic here.
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config/index.js'
import { DEFAULT_SHUTDOWN, onShutdownSignal } from './runtime/graceful-shutdown.js'

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

  // Drain, finish what is in flight (bounded), close the store, exit 0: see runtime/graceful-shutdown.ts.
  const close = onShutdownSignal(app, { ...DEFAULT_SHUTDOWN, exit: (code) => process.exit(code) })
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
