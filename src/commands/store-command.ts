// The start that the commands working on the store every gateway shares (sessions,
// rotate-identity-key) have in common: the configuration loaded as `serve` loads it, and a refusal
// of the memory store, which lives inside each gateway process where no other process can reach it.
import type { Dispatcher } from 'undici'
import { ConfigError, loadConfig, type Config, type LoadConfigOptions } from '../config/index.js'

export interface CommandIo extends LoadConfigOptions {
  out: (text: string) => void
  err: (text: string) => void
  /** The clock, epoch ms (tests fix it); default the real one. */
  clock?: () => number
  dispatcher?: Dispatcher
}

/** The configuration, or 78 (EX_CONFIG) once every problem with it is printed. */
export function loadConfigOrExit (io: CommandIo): Config | number {
  try {
    return loadConfig(io)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.err(`saml-gateway: ${err.message}\n`)
    return 78
  }
}

/** 64 (EX_USAGE) once `command` has said why the memory store leaves it `nothingToDo`; else undefined. */
export function refuseMemoryStore (config: Config, io: CommandIo, command: string, nothingToDo: string): number | undefined {
  if (config.session.store !== 'memory') return undefined
  io.err(`saml-gateway ${command}: the memory store lives inside each gateway process; ${nothingToDo}\n`)
  return 64
}
