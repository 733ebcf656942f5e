// The process-wide validator pool, shared by every app built in the process (tests build hundreds)
// and counted by its users.
import os from 'node:os'
import { ValidatorPool, type ValidatorPoolOptions } from './validator-pool.js'

// When the last user lets go, the workers stay a moment (unref'd: they never keep the process
// alive), so that an app built right after another one does not wait for new workers.
let shared: { pool: ValidatorPool, users: number, closing?: NodeJS.Timeout } | undefined

export interface PoolLease {
  validate: ValidatorPool['validate']
  readLogout: ValidatorPool['readLogout']
  pool: ValidatorPool
  /** Lets go of the pool; the last user's release closes it after `lingerMs`. */
  release: () => Promise<void>
}

export interface SharedPoolOptions extends ValidatorPoolOptions {
  /** How long the pool outlives its last user. Default 2 s; 0 closes it at once. */
  lingerMs?: number
}

/**
 * The process-wide pool of `size` workers, started on first use and closed when its last user
 * releases it (after `lingerMs`). Resolves once it can validate.
 */
export async function acquireValidatorPool (options: SharedPoolOptions = {}): Promise<PoolLease> {
  const { lingerMs = 2000, ...poolOptions } = options
  const size = Math.max(1, poolOptions.size ?? os.availableParallelism())
  if (shared === undefined || shared.pool.size !== size || shared.pool.isClosed()) {
    // A different size asks for its own pool; the old one closes when its users release it.
    shared = { pool: new ValidatorPool({ ...poolOptions, size }), users: 0 }
  }
  const entry = shared
  entry.users++
  if (entry.closing !== undefined) {
    clearTimeout(entry.closing)
    entry.closing = undefined
    entry.pool.ref()
  }
  let released = false
  const release = async (): Promise<void> => {
    if (released) return
    released = true
    if (--entry.users > 0) return
    const close = async (): Promise<void> => {
      if (shared === entry) shared = undefined
      await entry.pool.close()
    }
    if (lingerMs <= 0 || shared !== entry) return await close()
    entry.pool.unref()
    entry.closing = setTimeout(() => { close().catch(() => {}) }, lingerMs).unref()
  }
  try {
    await entry.pool.ready()
  } catch (err) {
    await release()
    throw err
  }
  return { validate: entry.pool.validate, readLogout: entry.pool.readLogout, pool: entry.pool, release }
}
