// The only reader of process.env. Reads Motion's own variable names (DOMAIN, XC_SAML_*) and the
// gateway's (GATEWAY_*), from the environment and a .env file, validates everything at once and
// returns one frozen object. Every problem names its variable.
//
// One file per area declares its variables (a JSON schema fragment, which env-schema applies for
// types and defaults) and reads them into its part of Config; Config's type is what the areas
// return, so a new setting is one schema line and one line where its area reads it.
import envSchema from 'env-schema'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { EnvOf, ReadContext } from './env.js'
import { httpSchema, readHttp } from './http.js'
import { idpSchema, readIdp } from './idp.js'
import { readSp, spSchema } from './sp.js'
import { readUpstream, upstreamSchema } from './upstream.js'
import { readSession, sessionSchema } from './session.js'
import { readValidation, validationSchema } from './validation.js'
import { claimsSchema, readClaims } from './claims.js'
import { readEnvFile } from './env-file.js'

export { duration, parseRateLimit } from './values.js'
export type { StoreKind } from './session.js'

const VARIABLES = {
  ...httpSchema,
  ...idpSchema,
  ...spSchema,
  ...upstreamSchema,
  ...sessionSchema,
  ...validationSchema,
  ...claimsSchema
} as const

type Env = EnvOf<typeof VARIABLES>

function readAreas (env: Env, ctx: ReadContext) {
  return {
    ...readHttp(env, ctx),
    ...readIdp(env, ctx),
    ...readSp(env, ctx),
    ...readUpstream(env, ctx),
    ...readSession(env, ctx),
    ...readValidation(env, ctx),
    ...readClaims(env, ctx),
    /** Things an operator should know but that do not stop the gateway. */
    warnings: ctx.warnings as readonly string[]
  }
}

type DeepReadonly<T> = T extends ReadonlyArray<infer E> ? ReadonlyArray<DeepReadonly<E>>
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T

export type Config = DeepReadonly<ReturnType<typeof readAreas>>

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  constructor (readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`)
  }
}

export interface LoadConfigOptions {
  /** The environment to read; default process.env. */
  env?: Record<string, string | undefined>
  /** Directory whose .env is read when GATEWAY_ENV_FILE is unset; default the working directory. */
  cwd?: string
  now?: number
  /** false: no warnings about certificate expiry (`check` says it itself, with a fix). Default true. */
  expiryWarnings?: boolean
  /**
   * For `metadata` and `check`, which must work from Motion's own variables alone: a missing
   * GATEWAY_UPSTREAM_LOGIN_URL is not a problem here (upstream.loginUrl is then '').
   */
  upstreamOptional?: boolean
}

export function loadConfig (options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd()
  const ctx: ReadContext = { problems: [], warnings: [], cwd, now: options.now, expiryWarnings: options.expiryWarnings ?? true, upstreamOptional: options.upstreamOptional }
  const env = readEnv(options.env ?? process.env, cwd, ctx)
  const config = readAreas(env, ctx)
  if (ctx.problems.length > 0) throw new ConfigError(ctx.problems)
  return deepFreeze(config)
}

/** .env (or GATEWAY_ENV_FILE) under the environment, then env-schema for types and defaults. */
function readEnv (env: Record<string, string | undefined>, cwd: string, { problems, warnings }: ReadContext): Env {
  const explicit = env.GATEWAY_ENV_FILE !== undefined && env.GATEWAY_ENV_FILE !== ''
  const envFile = resolve(cwd, explicit ? env.GATEWAY_ENV_FILE as string : '.env')
  let fromFile: Record<string, string> = {}
  try {
    const reading = readEnvFile(readFileSync(envFile, 'utf8'), envFile)
    fromFile = reading.values
    problems.push(...reading.problems)
    warnings.push(...reading.warnings)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' || explicit) {
      problems.push(`GATEWAY_ENV_FILE: cannot read ${envFile} (${code ?? (err as Error).message})`)
    }
  }
  const data: Record<string, unknown> = { ...fromFile, ...env }
  // env-schema stops a key at its first type error; drop the offender and read the rest again,
  // so that every problem is reported at once.
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      return envSchema({ schema: { type: 'object', properties: structuredClone(VARIABLES) }, data, env: false }) as unknown as Env
    } catch (err) {
      const found = (err as { errors?: Array<{ instancePath: string, message?: string, params?: Record<string, unknown> }> }).errors ?? []
      if (found.length === 0) throw err
      for (const e of found) {
        const name = e.instancePath.replace(/^\//, '')
        const allowed = e.params?.allowedValues as string[] | undefined
        problems.push(`${name} ${allowed ? `must be one of ${allowed.join(', ')}` : (e.message ?? 'is invalid')} (got ${JSON.stringify(data[name])})`)
        delete data[name]
      }
    }
  }
  throw new ConfigError(problems)
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
