// The arguments every store backend checks the same way: a caller's bug shows at once, with the
// same error whichever backend is behind it.

/** TTLs are whole milliseconds > 0, as Redis PX requires; anything else is a caller's bug. */
export function checkTtl (ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`TTL must be a positive number of ms, got ${ttlMs}`)
  return Math.ceil(ttlMs)
}

/** The bound of putOnceBounded: a whole number ≥ 1. */
export function checkMax (max: number): void {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`the bound must be a whole number ≥ 1, got ${max}`)
}
