// A gateway as its own process (`node src/server.ts`, through the test runner's TypeScript loader),
// on a port of the test's, with an env of the test's: for what only real processes show — several
// processes on one SQLite file, SIGTERM, a restart behind nginx.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { request } from 'undici'
import { baseEnv, REPO_ROOT } from '../helpers/app.js'

export interface GatewayProcess {
  port: number
  url: string
  /** Sends the signal and resolves with how the process ended. */
  stop (signal?: NodeJS.Signals): Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Starts it again with the same env and port; resolves when it answers. */
  restart (): Promise<void>
  output (): string
}

const READY_WITHIN_MS = 90_000

export async function startGatewayProcess (opts: { port: number, env: Record<string, string | undefined> }): Promise<GatewayProcess> {
  let child: ChildProcess | undefined
  let output = ''
  // The runner's own environment carries its TypeScript loader's settings (transpile only).
  const env = {
    ...process.env,
    ...baseEnv({ GATEWAY_LOG_LEVEL: 'warn', GATEWAY_VALIDATION_WORKERS: '0', ...opts.env, GATEWAY_LISTEN: `127.0.0.1:${opts.port}` }),
    GATEWAY_ENV_FILE: ''
  }
  const start = async (): Promise<void> => {
    const started = spawn(process.execPath, [...process.execArgv, join(REPO_ROOT, 'src', 'server.ts')], {
      env: env as NodeJS.ProcessEnv,
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child = started
    started.stdout?.setEncoding('utf8').on('data', (s: string) => { output += s })
    started.stderr?.setEncoding('utf8').on('data', (s: string) => { output += s })
    process.once('exit', () => started.kill('SIGKILL'))
    await waitUntilLive(`http://127.0.0.1:${opts.port}`, started, () => output)
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) {
      return { code: running?.exitCode ?? null, signal: running?.signalCode ?? null }
    }
    const ended = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) =>
      running.once('exit', (code, sig) => resolve({ code, signal: sig })))
    running.kill(signal)
    return await ended
  }
  await start()
  return { port: opts.port, url: `http://127.0.0.1:${opts.port}`, stop, restart: start, output: () => output }
}

async function waitUntilLive (url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway exited (${child.exitCode ?? child.signalCode}) at start:\n${output()}`)
    try {
      const res = await request(`${url}/api/auth/saml/health/live`, { headersTimeout: 1000 })
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`gateway at ${url} not live within ${READY_WITHIN_MS} ms:\n${output()}`)
}
