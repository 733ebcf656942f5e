#!/usr/bin/env node
// The saml-gateway command: serve (default) | check | metadata | sessions | rotate-identity-key.
// Each command lives in commands/.
import { serve } from './server.js'
import { ConfigError } from './config/index.js'
import { checkConfiguration, formatReport } from './commands/check.js'
import { metadataXml } from './commands/metadata.js'

const USAGE = `usage: saml-gateway [serve | check | metadata | sessions | rotate-identity-key | help]
  serve      run the gateway (reads the environment and .env, or GATEWAY_ENV_FILE)
  check      test the configuration: every problem with its fix, then the values for Entra
  metadata   print the SP metadata XML to paste into the IdP
  sessions list [--email E | --nameid N] [--json]       who is signed in, on every instance
  sessions revoke (--email E | --nameid N | --all)      end sessions now, and tell the upstream
  rotate-identity-key [--grace 10m] [--retain 10m]      a new identity key for every instance
`
const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) }

async function main (argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve'
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
    case 'sessions':
      return await (await import('./commands/sessions.js')).sessionsCommand(argv.slice(1), io)
    case 'rotate-identity-key':
      return await (await import('./commands/rotate-identity-key.js')).rotateIdentityKeyCommand(argv.slice(1), io)
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
