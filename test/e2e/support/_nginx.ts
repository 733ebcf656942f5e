// deploy/nginx.conf, run for real: rendered with a test's own ports and files, wrapped in the
// few main-context lines a test needs (pid, logs, temp paths in its own folder), and started as
// `nginx -p <dir> -c <conf> -g 'daemon off;'`, in the foreground, as a child of the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const NGINX = '/usr/sbin/nginx'
export const DEPLOY_NGINX_CONF = new URL('../../../deploy/nginx.conf', import.meta.url)

export interface SiteValues {
  host: string
  httpsPort: number
  httpPort: number
  /** host:port of the gateway and of Motion. */
  gateway: string
  motion: string
  certFile: string
  keyFile: string
}

/**
 * The production file with the test's values. Every well-known string must be there exactly as
 * often as expected: a silent miss would run the test against the production ports.
 */
export function renderSite (template: string, v: SiteValues): string {
  const replacements: Array<[string, string, number]> = [
    ['listen [::]:443 ssl http2;', '', 1],
    ['listen 443 ssl http2;', `listen ${v.host}:${v.httpsPort} ssl http2;`, 1],
    ['listen [::]:80;', '', 1],
    ['listen 80;', `listen ${v.host}:${v.httpPort};`, 1],
    ['server 127.0.0.1:3100', `server ${v.gateway}`, 1],
    ['server 127.0.0.1:8080', `server ${v.motion}`, 1],
    ['/etc/ssl/motion/fullchain.pem', v.certFile, 1],
    ['/etc/ssl/motion/privkey.pem', v.keyFile, 1]
  ]
  let text = stripComments(template)
  for (const [from, to, times] of replacements) {
    const found = text.split(from).length - 1
    if (found !== times) throw new Error(`deploy/nginx.conf: expected "${from}" ${times} time(s), found ${found}; update test/e2e/support/_nginx.ts with the file`)
    text = text.split(from).join(to)
  }
  return text
}

/** Drops comments (the commented auth_request variant holds "server"-like text too). */
function stripComments (conf: string): string {
  return conf.split('\n').map((line) => line.replace(/(^|\s)#.*$/, '')).filter((line) => line.trim() !== '').join('\n') + '\n'
}

/** One access-log line per request, as JSON: which upstream served it, over which protocol. */
export interface AccessEntry { method: string, uri: string, status: number, upstream: string, protocol: string }

const ACCESS_FORMAT = `log_format e2e escape=json '{"method":"$request_method","uri":"$uri","status":$status,"upstream":"$upstream_addr","protocol":"$server_protocol"}';`

function mainConf (dir: string, site: string): string {
  return `pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
worker_processes 1;
events { worker_connections 256; }
http {
  ${ACCESS_FORMAT}
  access_log ${join(dir, 'access.log')} e2e;
  client_body_temp_path ${join(dir, 'tmp', 'body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
${site}}
`
}

export interface Nginx {
  /** https://host:port — the public origin. */
  origin: string
  /** http://host:port — the redirecting server. */
  httpOrigin: string
  access (): AccessEntry[]
  errorLog (): string
  close (): Promise<void>
}

/** `siteText`: a site the test rendered itself (from renderSite's output); default deploy/nginx.conf rendered. */
export async function startNginx (opts: { dir: string, site: SiteValues, siteText?: string }): Promise<Nginx> {
  const dir = opts.dir
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  // Worker processes drop root for "nobody": they must reach their temp folders in here.
  chmodSync(dir, 0o755)
  const confFile = join(dir, 'nginx.conf')
  const errorLog = join(dir, 'error.log')
  writeFileSync(confFile, mainConf(dir, opts.siteText ?? renderSite(readFileSync(DEPLOY_NGINX_CONF, 'utf8'), opts.site)))
  const args = ['-p', dir, '-c', confFile, '-e', errorLog, '-g', 'daemon off;']

  const check = spawnSync(NGINX, ['-t', '-q', ...args], { encoding: 'utf8' })
  if (check.status !== 0) throw new Error(`nginx -t refused the rendered deploy/nginx.conf:\n${check.stderr}${readIfExists(errorLog)}`)

  const pidFile = join(dir, 'nginx.pid')
  const child = spawn(NGINX, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  await new Promise<void>((resolve, reject) => {
    // nginx writes its pid file once its listening sockets are open: from then on it accepts.
    const watcher = watch(dir, () => { if (existsSync(pidFile)) done() })
    const onExit = (code: number | null) => done(new Error(`nginx exited (${code}) at start:\n${stderr}${readIfExists(errorLog)}`))
    const done = (err?: Error) => {
      watcher.close()
      child.off('exit', onExit)
      if (err !== undefined) reject(err)
      else resolve()
    }
    child.once('exit', onExit)
    if (existsSync(pidFile)) done()
  })

  const { host, httpsPort, httpPort } = opts.site
  return {
    origin: `https://${host}:${httpsPort}`,
    httpOrigin: `http://${host}:${httpPort}`,
    access: () => readIfExists(join(dir, 'access.log')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as AccessEntry),
    errorLog: () => readIfExists(errorLog),
    close: () => stop(child)
  }
}

/** Fast shutdown of our own nginx (the child we started, by its pid), waiting for it to exit. */
async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function readIfExists (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** A self-signed certificate for 127.0.0.1 and localhost (P-256: made in milliseconds). */
export async function makeCertificate (dir: string): Promise<{ certFile: string, keyFile: string }> {
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'
  ])
  return { certFile, keyFile }
}

/** A port nobody listens on right now (nginx binds it a moment later). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
