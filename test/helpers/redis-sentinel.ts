// Redis with Sentinel for one test file, as real processes on free ports in a temp dir: a primary,
// replicas, and three sentinels (`redis-server <conf> --sentinel`) that agree on failover (quorum
// 2) a second after the primary stops answering. Never the system Redis or its ports.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export const SENTINEL_NAME = 'gateway-primary'
/** Sentinel's down-after-milliseconds: how long the primary may be silent before a failover. */
export const DOWN_AFTER_MS = 1000

export interface TestSentinels {
  sentinels: Array<{ host: string, port: number }>
  /** Port of the node that is primary now (asks the sentinels). */
  primaryPort (): Promise<number>
  /** SIGKILL the primary, as a crash would; resolves with its port once it has exited. */
  killPrimary (): Promise<number>
  /** Resolves when the sentinels name a primary other than `oldPort` (bounded). */
  waitForNewPrimary (oldPort: number, withinMs?: number): Promise<number>
  stop (): Promise<void>
}

export async function startSentinels (opts: { replicas?: number } = {}): Promise<TestSentinels> {
  const dir = mkdtempSync(join(tmpdir(), 'saml-gateway-sentinel-'))
  const nodes = new Map<number, ChildProcess>()
  const all: ChildProcess[] = []
  const launch = async (port: number, args: string[]): Promise<ChildProcess> => {
    const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    all.push(child)
    process.once('exit', () => child.kill('SIGKILL'))
    await waitForPing(port, child)
    return child
  }
  const node = (port: number, extra: string[] = []) => launch(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--dbfilename', `dump-${port}.rdb`, ...extra])

  const primary = await freePort()
  nodes.set(primary, await node(primary))
  for (let i = 0; i < (opts.replicas ?? 2); i++) {
    const port = await freePort()
    nodes.set(port, await node(port, ['--replicaof', '127.0.0.1', String(primary)]))
  }
  const sentinels: Array<{ host: string, port: number }> = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${SENTINEL_NAME} 10000`,
      `sentinel parallel-syncs ${SENTINEL_NAME} 2`, ''].join('\n'))
    await launch(port, [conf, '--sentinel'])
    sentinels.push({ host: '127.0.0.1', port })
  }
  const ask = async (): Promise<number> => {
    for (const s of sentinels) {
      const client = new Redis({ host: s.host, port: s.port, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null })
      client.on('error', () => {})
      try {
        await client.connect()
        const [, port] = await client.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_NAME) as [string, string]
        return Number(port)
      } catch {} finally { client.disconnect() }
    }
    throw new Error('no sentinel answered')
  }
  await waitForReplicas(primary, opts.replicas ?? 2)
  return {
    sentinels,
    primaryPort: ask,
    async killPrimary () {
      const port = await ask()
      const child = nodes.get(port)!
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
      return port
    },
    async waitForNewPrimary (oldPort: number, withinMs = 60_000) {
      const deadline = Date.now() + withinMs
      while (Date.now() < deadline) {
        const port = await ask().catch(() => oldPort)
        if (port !== oldPort) return port
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      throw new Error(`no new primary within ${withinMs} ms`)
    },
    async stop () {
      await Promise.all(all.map(async child => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      }))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Until the primary reports `count` replicas online (they have synced). */
async function waitForReplicas (port: number, count: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1' })
  try {
    for (let i = 0; i < 200; i++) {
      const info = await client.info('replication')
      const online = (info.match(/^slave\d+:.*state=online/gm) ?? []).length
      if (online >= count) return
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    throw new Error(`the replicas of :${port} did not come online`)
  } finally {
    client.disconnect()
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

async function waitForPing (port: number, child: ChildProcess): Promise<void> {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.on('error', (err) => { stderr += String(err) })
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server on :${port} exited: ${stderr}`)
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 300, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      if (await client.ping() === 'PONG') return
    } catch {} finally { client.disconnect() }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`redis-server on :${port} did not answer: ${stderr}`)
}
