// A private redis-server for one test file: its own free port, its own temp dir, no persistence.
// Never the Redis on 6379. A missing redis-server is a failure that says how to install it.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

export interface TestRedis {
  port: number
  url: string
  /** Kill the server (as a crash would: SIGKILL), wait until it has exited, remove its dir. */
  stop (): Promise<void>
  /** Start it again on the same port (stopping it first if it runs) and wait until it answers. */
  restart (): Promise<void>
}

const READY_WITHIN_MS = 10_000
const POLL_MS = 20

export async function startRedis (): Promise<TestRedis> {
  const binary = findOnPath('redis-server')
  if (binary === undefined) {
    throw new Error('redis-server is not on PATH; the Redis store tests need it: apt-get install -y redis-server')
  }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'saml-gateway-redis-'))
  let child: ChildProcess | undefined

  const start = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true })
    child = spawn(binary, ['--port', String(port), '--save', '', '--appendonly', 'no',
      '--bind', '127.0.0.1', '--dir', dir], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    const started = child
    process.once('exit', () => started.kill('SIGKILL'))
    await waitForPong(port, started)
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise(resolve => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }

  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
    restart: async () => {
      await stop()
      await start()
    }
  }
}

function findOnPath (name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

async function waitForPong (port: number, child: ChildProcess): Promise<void> {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.on('error', err => { stderr += String(err) })
  const deadline = Date.now() + READY_WITHIN_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}): ${stderr}`)
    }
    if (await answersPing(port)) return
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
  child.kill('SIGKILL')
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_WITHIN_MS} ms: ${stderr}`)
}

async function answersPing (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(200, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
