// Names for the expectations a validator worker is sent: each distinct one once per worker, then
// only its id (its parsed keys stay cached in the worker). Expectations are values: what changes
// (the IdP certificates after a metadata refresh) comes as a new array, never an edited one.
type Expectations = object

/** Recent expectations, checked property by property (no copy) before the content is compared. */
const RECENT = 4
/** Only ever a handful (one per app, one more per certificate rollover); never unbounded. */
const REMEMBERED = 64

export class ExpectationIds {
  private readonly byContent = new Map<string, number>()
  private recent: Array<{ exp: Expectations, id: number }> = []
  private next = 1

  /** The id of `exp`: the same for expectations with the same content. */
  idOf (exp: Expectations): number {
    // Each login or logout sends a snapshot of the same few expectations: serializing one (its
    // certificates and key, kilobytes) to recognize it would be work on every request.
    const seen = this.recent.find((r) => sameValues(r.exp, exp))
    if (seen !== undefined) return seen.id
    const key = JSON.stringify(exp)
    let id = this.byContent.get(key)
    if (id === undefined) {
      id = this.next++
      this.byContent.set(key, id)
      if (this.byContent.size > REMEMBERED) this.byContent.delete(this.byContent.keys().next().value as string)
    }
    this.recent = [{ exp, id }, ...this.recent.slice(0, RECENT - 1)]
    return id
  }
}

function sameValues (a: Expectations, b: Expectations): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((k) => Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
