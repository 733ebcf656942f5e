#!/usr/bin/env node
// The saml-gateway command: serve (default) | check | metadata | logs. Each command lives in commands/.
import { serve } from './server.js'
import { ConfigError } from './config/index.js'
import { checkConfiguration, formatReport } from './commands/check.js'
import { metadataXml } from './commands/metadata.js'
import { printLogs } from './commands/logs.js'

const USAGE = `usage: saml-gateway [serve | check | metadata | logs | help]
  serve      run the gateway (reads the environment and .env, or GATEWAY_ENV_FILE)
  check      test the configuration: every problem with its fix, then the values for Entra
  metadata   print the SP metadata XML to paste into the IdP
  logs       read the gateway's JSON log on stdin, print it for people:
               journalctl -u saml-gateway -o cat | saml-gateway logs
Settings come from the environment and ./.env, or the file GATEWAY_ENV_FILE names
(e.g. GATEWAY_ENV_FILE=/var/opt/motion2/.env). Exit status 78: the configuration is unusable.
`

const HELP: Record<string, string> = {
  serve: `usage: saml-gateway serve
  Runs the gateway. Exits 78 when the configuration is unusable (run \`saml-gateway check\`).
`,
  check: `usage: saml-gateway check
  Loads the configuration exactly as \`serve\` would, reports every problem with a Fix line,
  reaches the upstream and the store, then prints the values for Entra. Exit 0 only when usable.
`,
  metadata: `usage: saml-gateway metadata
  Prints the SP metadata XML. Needs only DOMAIN, XC_SAML_ENTRYPOINT, XC_SAML_CERT and XC_SAML_ISSUER.
`,
  logs: `usage: saml-gateway logs < gateway.log
  Reads JSON log lines on stdin and prints them for people: UTC time, level, code, message,
  the expected and received values of a rejection, and the reference (correlation id).
`
}

async function main (argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve'
  if (argv.slice(1).some((a) => a === '--help' || a === '-h') && HELP[command] !== undefined) {
    process.stdout.write(HELP[command])
    return 0
  }
  switch (command) {
    case 'serve':
      await serve()
      return 0
    case 'check': {
      const report = await checkConfiguration()
      process.stdout.write(formatReport(report))
      return report.ok ? 0 : 1
    }
    case 'metadata':
      try {
        process.stdout.write(metadataXml())
        return 0
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        process.stderr.write(`saml-gateway: ${err.message}\n`)
        return 78
      }
    case 'logs':
      await printLogs(process.stdin, process.stdout)
      return 0
    case 'help': case '--help': case '-h':
      process.stdout.write(USAGE)
      return 0
    default:
      process.stderr.write(USAGE)
      return 64
  }
}

main(process.argv.slice(2)).then((code) => { if (code !== 0) process.exitCode = code }, (err) => {
  process.stderr.write(`saml-gateway: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
