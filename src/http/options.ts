// Plugin options are checked once, when the plugin is registered: a missing collaborator is a
// wiring bug and must stop the app from starting, not fail the first request that needs it.

export function checkOptions<T extends object> (plugin: string, opts: T, required: ReadonlyArray<keyof T & string>): T {
  const missing = required.filter((name) => opts[name] === undefined)
  if (missing.length > 0) throw new TypeError(`${plugin}: missing option${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`)
  return opts
}
