// The environment as each area of the configuration sees it: a JSON schema fragment per area (read
// by env-schema for types and defaults), and the type of the values it yields, derived from that
// same fragment, so that a setting is declared once and read without casts.

interface StringSchema { type: 'string', default?: string, enum?: readonly string[] }
interface BooleanSchema { type: 'boolean', default?: boolean }
interface IntegerSchema { type: 'integer', default?: number, minimum?: number, maximum?: number }
export type VariableSchema = StringSchema | BooleanSchema | IntegerSchema

/** One area's variables: name → schema. */
export type AreaSchema = Record<string, VariableSchema>

type ValueOf<S> =
  S extends { enum: readonly (infer E)[] } ? E
    : S extends { type: 'string' } ? string
      : S extends { type: 'boolean' } ? boolean
        : S extends { type: 'integer' } ? number
          : never

/** Variables with a default always have a value; the others may be missing. */
export type EnvOf<S extends AreaSchema> =
  { readonly [K in keyof S as S[K] extends { default: unknown } ? K : never]: ValueOf<S[K]> } &
  { readonly [K in keyof S as S[K] extends { default: unknown } ? never : K]?: ValueOf<S[K]> }

export const str = { type: 'string' } as const
export const bool = <const D extends boolean>(value: D) => ({ type: 'boolean', default: value }) as const

/** What every area reader gets besides its variables. */
export interface ReadContext {
  /** Every problem found, each naming its variable; loading fails when any. */
  problems: string[]
  /** Things an operator should know but that do not stop the gateway. */
  warnings: string[]
  /** Directory relative paths are resolved against. */
  cwd: string
  /** Epoch ms: certificate expiry is judged against it. */
  now?: number
  /** false: say nothing about certificate expiry (`check` judges it itself, with a fix). */
  expiryWarnings: boolean
  /** `metadata` and `check` work from Motion's own variables: a missing upstream URL is no problem. */
  upstreamOptional?: boolean
}

/** A string variable, trimmed; undefined when unset or blank. */
export function text (value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}

/** Pushes "NAME is required" for each listed variable that is unset or blank. */
export function required (env: Record<string, unknown>, names: readonly string[], problems: string[]): void {
  for (const name of names) {
    const value = env[name]
    if (typeof value !== 'string' || value.trim() === '') problems.push(`${name} is required`)
  }
}
