// `saml-gateway rotate-identity-key [--grace 10m] [--retain 10m]`: a new identity key in the
// keyring every gateway on the store shares. It is published at /jwks.json at once (within one
// keyring refresh, 30 s), signs from a grace period later (every instance switches at that moment
// by its clock), and the old key stays published for `retain` after the switch, then goes.
import { duration } from '../config/index.js'
import { DEFAULT_GRACE_MS, DEFAULT_RETAIN_MS, rotateIdentityKey } from '../identity/keyring.js'
import { loadConfigOrExit, refuseMemoryStore, withStore, type CommandIo } from './store-command.js'

export const ROTATE_USAGE = 'usage: saml-gateway rotate-identity-key [--grace 10m] [--retain 10m]\n'

export async function rotateIdentityKeyCommand (argv: string[], io: CommandIo): Promise<number> {
  const problems: string[] = []
  let graceMs = DEFAULT_GRACE_MS
  let retainMs = DEFAULT_RETAIN_MS
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--grace' && argv[i + 1] !== undefined) graceMs = duration('--grace', argv[i + 1], problems)
    else if (argv[i] === '--retain' && argv[i + 1] !== undefined) retainMs = duration('--retain', argv[i + 1], problems)
    else problems.push(`unexpected "${argv[i]}"`)
  }
  if (problems.length > 0) {
    io.err(`saml-gateway rotate-identity-key: ${problems.join('; ')}\n${ROTATE_USAGE}`)
    return 64
  }
  const config = loadConfigOrExit(io)
  if (typeof config === 'number') return config
  if (config.identity.keyFile !== undefined || config.identity.secret !== undefined) {
    io.err('saml-gateway rotate-identity-key: the identity key is configured (GATEWAY_IDENTITY_KEY or GATEWAY_IDENTITY_SECRET); ' +
      'rotate it there: the new key in GATEWAY_IDENTITY_KEY, the old one in GATEWAY_IDENTITY_PREVIOUS_KEY\n')
    return 64
  }
  const refused = refuseMemoryStore(config, io, 'rotate-identity-key', 'nothing to rotate from outside')
  if (refused !== undefined) return refused
  const now = (io.clock ?? Date.now)()
  return await withStore(config, io, 'rotate-identity-key', async (store) => {
    try {
      const { previous, next, retired } = await rotateIdentityKey(store, { now, graceMs, retainMs })
      io.out(`new key ${next.kid}: published now, signs from ${new Date(next.activeFrom).toISOString()}\n` +
        `old key ${previous.kid}: published until ${new Date(previous.retireAt!).toISOString()}\n` +
        (retired.length > 0 ? `retired: ${retired.map(k => k.kid).join(', ')}\n` : ''))
      return 0
    } catch (err) {
      if ((err as { code?: string }).code === 'STORE_UNAVAILABLE') throw err
      // Refused: a rotation under way, a grace too short, no keyring yet.
      io.err(`saml-gateway rotate-identity-key: ${(err as Error).message}\n`)
      return 1
    }
  })
}
