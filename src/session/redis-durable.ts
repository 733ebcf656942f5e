// Writes that a failover must not lose. Redis replicates asynchronously: a replay-cache entry or a
// consumed AuthnRequest ID written to the primary just before it dies may never reach the replica
// that Sentinel promotes, and the same response would then be accepted a second time. So these
// writes go on a connection of their own and are followed by WAIT, which blocks that connection
// (only it: sessions and reads keep flowing on the main one) until `replicas` replicas have every
// write made on it so far, or the timeout passes. Too few acknowledgements → the write does not
// count: the login answers 503 STORE_UNAVAILABLE rather than accept what could be replayed.
import type { Redis } from 'ioredis'

/** WAIT's bound: a login waits at most this long for a replica. */
export const MAX_REPLICA_ACK_TIMEOUT_MS = 500

export class ReplicaAckError extends Error {
  constructor (readonly acknowledged: number, readonly wanted: number) {
    super(`redis: ${acknowledged} of ${wanted} replica(s) acknowledged the write in time`)
  }
}

export class DurableWrites {
  /** The connection on which the writes that need acknowledging are made. */
  readonly client: Redis
  private readonly timeoutMs: number

  constructor (main: Redis, private readonly replicas: number, timeoutMs = MAX_REPLICA_ACK_TIMEOUT_MS) {
    this.timeoutMs = Math.min(Math.max(1, Math.round(timeoutMs)), MAX_REPLICA_ACK_TIMEOUT_MS)
    this.client = main.duplicate()
    // Its errors are the main connection's too, and are logged there.
    this.client.on('error', () => {})
  }

  /** Resolves once enough replicas have every write made so far on `client`; throws otherwise. */
  async acknowledged (): Promise<void> {
    const acks = Number(await this.client.wait(this.replicas, this.timeoutMs))
    if (acks < this.replicas) throw new ReplicaAckError(acks, this.replicas)
  }

  async close (): Promise<void> {
    if (this.client.status === 'ready') {
      try {
        await this.client.quit()
        return
      } catch {}
    }
    this.client.disconnect()
  }
}
