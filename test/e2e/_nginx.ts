// The nginx files of deploy/ run for real: rendered with a test's own ports and files, wrapped in
// the few main-context lines a test needs (pid, logs, temp paths in its own folder), and started
// as `nginx -p <dir> -c <conf> -g 'daemon off;'`, in the foreground, as a child of the test.
// Two sites: "motion" (default) is a Motion-like site as an installer leaves it, with the one
// include line of deploy/nginx/saml-gateway.conf added; "full" is deploy/nginx/motion-site.conf.
// Both use the upstream of deploy/nginx/saml-gateway-upstream.conf, with one or several gateways.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs'
import { connect as connectTcp, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, sep } from 'node:path'
import { promisify } from 'node:util'

export const NGINX = '/usr/sbin/nginx'
export const DEPLOY_NGINX = {
  upstream: new URL('../../deploy/nginx/saml-gateway-upstream.conf', import.meta.url),
  snippet: new URL('../../deploy/nginx/saml-gateway.conf', import.meta.url),
  fullSite: new URL('../../deploy/nginx/motion-site.conf', import.meta.url)
}
/** The Motion-like site the journeys go through (the include line already in it). */
export const MOTION_SITE = new URL('./motion-site.conf', import.meta.url)

export type SiteKind = 'motion' | 'full'

/** What this machine lacks to run nginx with a certificate, as one message; undefined when nothing. */
export function missingNginxTools (): string | undefined {
  const missing = existsSync(NGINX) ? [] : ['nginx']
  if (spawnSync('openssl', ['version']).status !== 0) missing.push('openssl')
  return missing.length === 0 ? undefined : `not installed: ${missing.join(', ')}. Install with: apt-get install -y ${missing.join(' ')}`
}

export interface SiteValues {
  host: string
  httpsPort: number
  httpPort: number
  /** host:port of the gateway, or of each of several gateways. */
  gateway: string | string[]
  /** host:port of Motion. */
  motion: string
  /** host:port that the Motion-like site's /socket.io goes to; default `motion`. */
  motionSocket?: string
  certFile: string
  keyFile: string
}

/** Replaces each well-known string exactly as often as expected: a silent miss would run the test against production ports. */
function replaceExactly (file: string, text: string, replacements: Array<[string, string, number]>): string {
  for (const [from, to, times] of replacements) {
    const found = text.split(from).length - 1
    if (found !== times) throw new Error(`${file}: expected "${from}" ${times} time(s), found ${found}; update test/e2e/_nginx.ts with the file`)
    text = text.split(from).join(to)
  }
  return text
}

/** deploy/nginx/saml-gateway-upstream.conf with the test's gateways. */
export function renderUpstream (template: string, gateways: string[]): string {
  const servers = gateways.map((g) => `server ${g} max_fails=1 fail_timeout=5s;`).join('\n    ')
  return replaceExactly('deploy/nginx/saml-gateway-upstream.conf', stripComments(template), [
    ['server 127.0.0.1:3100 max_fails=1 fail_timeout=5s;', servers, 1]
  ])
}

/** deploy/nginx/motion-site.conf, the full site, with the test's values. */
export function renderSite (template: string, v: SiteValues): string {
  return replaceExactly('deploy/nginx/motion-site.conf', stripComments(template), [
    ['listen [::]:443 ssl http2;', '', 1],
    ['listen 443 ssl http2;', `listen ${v.host}:${v.httpsPort} ssl http2;`, 1],
    ['listen [::]:80;', '', 1],
    ['listen 80;', `listen ${v.host}:${v.httpPort};`, 1],
    ['server 127.0.0.1:8080;', `server ${v.motion};`, 1],
    ['/etc/ssl/motion/fullchain.pem', v.certFile, 1],
    ['/etc/ssl/motion/privkey.pem', v.keyFile, 1]
  ])
}

/** The Motion-like site with the test's values ({{NAME}} placeholders). */
export function renderMotionSite (template: string, v: SiteValues, root: string): string {
  const values: Record<string, string> = {
    HOST: v.host,
    HTTP_PORT: String(v.httpPort),
    HTTPS_PORT: String(v.httpsPort),
    MOTION: v.motion,
    MOTION_SOCKET: v.motionSocket ?? v.motion,
    CERT: v.certFile,
    KEY: v.keyFile,
    ROOT: root
  }
  const text = stripComments(template).replace(/\{\{([A-Z_]+)\}\}/g, (all, name: string) => values[name] ?? all)
  if (text.includes('{{')) throw new Error(`test/e2e/motion-site.conf: unknown placeholder ${/\{\{[^}]*\}\}/.exec(text)?.[0]}`)
  return text
}

/** Drops comments (commented examples hold "server"-like text too). */
function stripComments (conf: string): string {
  return conf.split('\n').map((line) => line.replace(/(^|\s)#.*$/, '')).filter((line) => line.trim() !== '').join('\n') + '\n'
}

/** One access-log line per request, as JSON: which upstream served it, over which protocol. */
export interface AccessEntry { method: string, uri: string, raw: string, status: number, upstream: string, protocol: string }

const ACCESS_FORMAT = 'log_format e2e escape=json \'{"method":"$request_method","uri":"$uri","raw":"$request_uri","status":$status,"upstream":"$upstream_addr","protocol":"$server_protocol"}\';'

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

/**
 * Writes the configuration into `dir` as nginx is set up on a Debian host: the upstream file in
 * the http context, the snippet as snippets/saml-gateway.conf (the include is relative to the
 * folder of nginx.conf), and the site. Returns the main configuration file.
 */
export function writeConfiguration (dir: string, site: SiteValues, kind: SiteKind = 'motion'): string {
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  mkdirSync(join(dir, 'snippets'), { recursive: true })
  writeFileSync(join(dir, 'snippets', 'saml-gateway.conf'), stripComments(readFileSync(DEPLOY_NGINX.snippet, 'utf8')))
  const gateways = typeof site.gateway === 'string' ? [site.gateway] : site.gateway
  const upstream = renderUpstream(readFileSync(DEPLOY_NGINX.upstream, 'utf8'), gateways)
  let siteText: string
  if (kind === 'full') {
    siteText = renderSite(readFileSync(DEPLOY_NGINX.fullSite, 'utf8'), site)
  } else {
    // Motion's static files: one asset, so that the regex location for assets has something to serve.
    const root = join(dir, 'www')
    mkdirSync(root, { recursive: true })
    writeFileSync(join(root, 'app.js'), '// Motion\n')
    siteText = renderMotionSite(readFileSync(MOTION_SITE, 'utf8'), site, root)
  }
  const confFile = join(dir, 'nginx.conf')
  writeFileSync(confFile, mainConf(dir, upstream + siteText))
  return confFile
}

export async function startNginx (opts: { dir: string, site: SiteValues, kind?: SiteKind }): Promise<Nginx> {
  const dir = opts.dir
  mkdirSync(dir, { recursive: true })
  // Worker processes drop root for "nobody": they must reach their temp folders and files in here,
  // through the test's own temp folders (mkdtemp makes them 0700).
  chmodSync(dir, 0o755)
  for (let up = dirname(dir); up.startsWith(tmpdir() + sep); up = dirname(up)) chmodSync(up, 0o711)
  const confFile = writeConfiguration(dir, opts.site, opts.kind)
  const errorLog = join(dir, 'error.log')
  const args = ['-p', dir, '-c', confFile, '-e', errorLog, '-g', 'daemon off;']

  const check = spawnSync(NGINX, ['-t', '-q', ...args], { encoding: 'utf8' })
  if (check.status !== 0) throw new Error(`nginx -t refused the rendered nginx files of deploy/:\n${check.stderr}${readIfExists(errorLog)}`)

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
  // The pid file can come a moment before every socket accepts: wait for both ports.
  await Promise.all([httpsPort, httpPort].map((port) => accepting(host, port, child)))
  return {
    origin: `https://${host}:${httpsPort}`,
    httpOrigin: `http://${host}:${httpPort}`,
    access: () => readIfExists(join(dir, 'access.log')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as AccessEntry),
    errorLog: () => readIfExists(errorLog),
    close: () => stop(child)
  }
}

/** Resolves once host:port accepts a connection; retries refused connects while nginx runs (bounded). */
async function accepting (host: string, port: number, nginx: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const refused = await new Promise<Error | undefined>((resolve) => {
      const socket = connectTcp({ host, port }, () => { socket.destroy(); resolve(undefined) })
      socket.once('error', (err) => resolve(err))
    })
    if (refused === undefined) return
    if (nginx.exitCode !== null || Date.now() > deadline) throw new Error(`nginx does not accept on ${host}:${port}: ${refused.message}`)
    await new Promise((resolve) => setImmediate(resolve))
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
