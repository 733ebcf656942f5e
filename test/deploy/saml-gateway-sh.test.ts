// deploy/saml-gateway.sh on a Motion host laid out in a temp folder (SAML_GATEWAY_ROOT): Motion's
// nginx site, its 0600 .env, a data dir. systemctl, systemd-run, useradd and getent are stand-ins
// that log their arguments; `nginx -t` is the real nginx testing the folder's configuration.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeCertificate, missingNginxTools, MOTION_SITE, NGINX } from '../e2e/_nginx.js'

const SCRIPT = fileURLToPath(new URL('../../deploy/saml-gateway.sh', import.meta.url))
const README = fileURLToPath(new URL('../../README.md', import.meta.url))
const UNIT = fileURLToPath(new URL('../../deploy/saml-gateway.service', import.meta.url))
const INCLUDE = '    include snippets/saml-gateway.conf;\n'

interface Host {
  root: string
  /** Motion's site as its installer left it, and with the include line (test/e2e/motion-site.conf). */
  pristine: string
  included: string
  site: string
  run (args: string[], env?: Record<string, string>): { status: number | null, stdout: string, stderr: string }
  calls (): string[]
  read (path: string): string
}

const STUB = (name: string, body = 'exit 0') => `#!/bin/sh
printf '%s\\n' "${name} $*" >> "$SAML_GATEWAY_ROOT/calls.log"
${body}
`

async function makeHost (t: Test): Promise<Host> {
  const root = mkdtempSync(join(tmpdir(), 'saml-gateway-host-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dirs = ['etc/nginx/sites-available', 'etc/nginx/sites-enabled', 'etc/nginx/conf.d', 'etc/nginx/snippets', 'etc/systemd/system',
    'var/opt/motion2', 'var/lib/saml-gateway', 'var/log/nginx', 'run', 'tmp', 'bin', 'www']
  for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true })
  const { certFile, keyFile } = await makeCertificate(join(root, 'tmp'))
  const values: Record<string, string> = { HOST: '127.0.0.1', HTTP_PORT: '80', HTTPS_PORT: '443', MOTION: '127.0.0.1:9000', MOTION_SOCKET: '127.0.0.1:9000', CERT: certFile, KEY: keyFile, ROOT: join(root, 'www') }
  const included = readFileSync(MOTION_SITE, 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_all, name: string) => values[name])
  t.ok(included.includes(INCLUDE), 'the Motion-like site has the include line')
  const pristine = included.replace(INCLUDE, '')
  const site = join(root, 'etc/nginx/sites-available/motion')
  writeFileSync(site, pristine)
  symlinkSync('../sites-available/motion', join(root, 'etc/nginx/sites-enabled/motion'))
  writeFileSync(join(root, 'etc/nginx/nginx.conf'), `pid ${root}/run/nginx.pid;
error_log ${root}/var/log/nginx/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${root}/tmp/body; proxy_temp_path ${root}/tmp/proxy; fastcgi_temp_path ${root}/tmp/fastcgi;
  uwsgi_temp_path ${root}/tmp/uwsgi; scgi_temp_path ${root}/tmp/scgi;
  include ${root}/etc/nginx/conf.d/*.conf;
  include ${root}/etc/nginx/sites-enabled/*;
}
`)
  writeFileSync(join(root, 'var/opt/motion2/.env'), 'DOMAIN=motion.example.com\nXC_SAML_ISSUER=https://motion.example.com\n', { mode: 0o600 })
  writeFileSync(join(root, 'var/lib/saml-gateway/identity-key.pem'), 'key\n', { mode: 0o600 })
  const stubs: Record<string, string> = {
    systemctl: STUB('systemctl'),
    // The check's exit status: 0 unless the test says otherwise.
    'systemd-run': STUB('systemd-run', '[ -z "$STUB_CHECK_STATUS" ] || exit "$STUB_CHECK_STATUS"'),
    useradd: STUB('useradd'),
    getent: STUB('getent', 'exit 2'),
    nginx: STUB('nginx', `exec ${NGINX} -q -t -c "$SAML_GATEWAY_ROOT/etc/nginx/nginx.conf"`)
  }
  for (const [name, text] of Object.entries(stubs)) writeFileSync(join(root, 'bin', name), text, { mode: 0o755 })
  return {
    root,
    pristine,
    included,
    site,
    run (args, env = {}) {
      const result = spawnSync('bash', [SCRIPT, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env, SAML_GATEWAY_ROOT: root, PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}` }
      })
      return { status: result.status, stdout: result.stdout, stderr: result.stderr }
    },
    calls: () => existsSync(join(root, 'calls.log')) ? readFileSync(join(root, 'calls.log'), 'utf8').split('\n').filter(Boolean) : [],
    read: (path) => readFileSync(join(root, path), 'utf8')
  }
}

const backups = (host: Host): string[] => {
  const dir = join(host.root, 'var/backups/saml-gateway')
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : []
}

const listArchive = (archive: string): string[] =>
  spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '' && !l.endsWith('/')).sort()

async function checkInstall (t: Test): Promise<void> {
  const host = await makeHost(t)
  const result = host.run(['install'])
  t.equal(result.status, 0, result.stderr)
  t.equal(host.read('etc/systemd/system/saml-gateway.service'), readFileSync(UNIT, 'utf8'), 'the unit, as in deploy/')
  t.ok(existsSync(join(host.root, 'etc/nginx/snippets/saml-gateway.conf')) && existsSync(join(host.root, 'etc/nginx/conf.d/saml-gateway-upstream.conf')), 'snippet and upstream')
  t.same(host.calls(), ['getent passwd saml-gateway', 'useradd --system --home-dir /var/lib/saml-gateway --shell /usr/sbin/nologin saml-gateway', 'systemctl daemon-reload'])
  t.equal(host.read('etc/nginx/sites-available/motion'), host.pristine, 'Motion\'s site as it was')

  // Again, as after an upgrade: the operator's list of gateways stays.
  const upstream = join(host.root, 'etc/nginx/conf.d/saml-gateway-upstream.conf')
  writeFileSync(upstream, 'upstream saml_gateway { server 10.0.0.11:3100; server 10.0.0.12:3100; }\n')
  const again = host.run(['install'])
  t.equal(again.status, 0, again.stderr)
  t.equal(readFileSync(upstream, 'utf8'), 'upstream saml_gateway { server 10.0.0.11:3100; server 10.0.0.12:3100; }\n', 'the upstream file kept')
  t.match(again.stdout, /kept .*saml-gateway-upstream\.conf as it is/)
}

async function checkCheck (t: Test): Promise<void> {
  const host = await makeHost(t)
  t.equal(host.run(['check']).status, 1, 'before install: refused')
  host.run(['install'])
  const ok = host.run(['check'])
  t.equal(ok.status, 0, ok.stderr)
  const call = host.calls().find((c) => c.startsWith('systemd-run ')) ?? ''
  const unit = readFileSync(UNIT, 'utf8')
  for (const key of ['User', 'Group', 'WorkingDirectory', 'LoadCredential', 'UMask', 'StateDirectory', 'ProtectSystem', 'NoNewPrivileges']) {
    const line = unit.split('\n').find((l) => l.startsWith(`${key}=`))
    t.ok(line !== undefined && call.includes(` -p ${line} `), `-p ${line}`)
  }
  t.match(call, / -p Environment=GATEWAY_ENV_FILE=\/run\/credentials\/saml-gateway-check\.service\/motion\.env /, 'Motion\'s .env, through systemd\'s credential, as in the unit')
  t.match(call, / -p LoadCredential=motion\.env:\/var\/opt\/motion2\/\.env /, 'read by systemd as root: Motion\'s 0600 file stays as it is')
  t.match(call, /--pipe --wait .* \/usr\/bin\/node dist\/src\/cli\.js check$/, 'the CLI\'s check, waited for')
  t.equal(unit.split('\n').find((l) => l.startsWith('ExecStart=')), 'ExecStart=/usr/bin/node dist/src/server.js', 'the service runs the same build')
  const bad = host.run(['check'], { STUB_CHECK_STATUS: '78' })
  t.equal(bad.status, 78, 'a configuration problem: 78')
  t.match(bad.stderr, /check failed \(exit 78\)/)
}

async function checkEnableRollback (t: Test): Promise<void> {
  const host = await makeHost(t)
  host.run(['install'])
  const enabled = host.run(['enable'])
  t.equal(enabled.status, 0, enabled.stderr)
  t.equal(host.read('etc/nginx/sites-available/motion'), host.included, 'the include right after server_name of the 443 server, nowhere else')
  const calls = host.calls().slice(3).map((c) => c.replace(/^systemd-run .*/, 'systemd-run …'))
  t.same(calls, ['systemd-run …', 'nginx -t', 'systemctl enable --now saml-gateway', 'systemctl reload nginx'], 'checked, tested, the gateway started, then nginx reloaded')
  t.equal(backups(host).length, 1, 'a backup first')
  t.equal(host.run(['enable']).status, 0, 'enable again')
  t.equal(host.read('etc/nginx/sites-available/motion'), host.included, 'still one include line')

  const rolled = host.run(['rollback'])
  t.equal(rolled.status, 0, rolled.stderr)
  t.match(rolled.stdout, /Motion's built-in SAML again/)
  t.equal(host.read('etc/nginx/sites-available/motion'), host.pristine, 'Motion\'s site byte for byte as before')
  t.same(host.calls().slice(-3), ['nginx -t', 'systemctl reload nginx', 'systemctl disable --now saml-gateway'])
  t.equal(host.read('var/opt/motion2/.env').length > 0 && host.read('var/lib/saml-gateway/identity-key.pem'), 'key\n', 'settings and data kept')
  t.equal(backups(host).length, 3, 'each step made its backup')
}

async function checkEnableRefused (t: Test): Promise<void> {
  const host = await makeHost(t)
  host.run(['install'])
  rmSync(join(host.root, 'etc/nginx/conf.d/saml-gateway-upstream.conf'))
  writeFileSync(join(host.root, 'etc/nginx/conf.d/saml-gateway-upstream.conf'), '# emptied\n')
  const result = host.run(['enable'])
  t.equal(result.status, 1)
  t.match(result.stderr, /nginx -t refused the change; .* is as it was/)
  t.equal(host.read('etc/nginx/sites-available/motion'), host.pristine, 'the site as it was')
  t.notOk(host.calls().some((c) => c.startsWith('systemctl enable') || c.startsWith('systemctl reload')), 'no start, no reload')
}

async function checkEnableWhenCheckFails (t: Test): Promise<void> {
  const host = await makeHost(t)
  host.run(['install'])
  const result = host.run(['enable'], { STUB_CHECK_STATUS: '78' })
  t.equal(result.status, 78)
  t.equal(host.read('etc/nginx/sites-available/motion'), host.pristine, 'Motion\'s site as it was')
  t.notOk(host.calls().some((c) => c.startsWith('systemctl enable') || c.startsWith('systemctl reload') || c.startsWith('nginx')), 'no start, no reload')
  t.same(backups(host), [], 'not even a backup')
}

async function checkBackupRestore (t: Test): Promise<void> {
  const host = await makeHost(t)
  host.run(['install'])
  const made = host.run(['backup'])
  t.equal(made.status, 0, made.stderr)
  const [archive] = backups(host)
  t.equal(statSync(archive).mode & 0o777, 0o600, 'mode 0600: it holds secrets')
  t.same(listArchive(archive), ['etc/nginx/conf.d/saml-gateway-upstream.conf', 'etc/nginx/sites-available/motion', 'etc/nginx/snippets/saml-gateway.conf',
    'etc/systemd/system/saml-gateway.service', 'var/lib/saml-gateway/identity-key.pem', 'var/opt/motion2/.env'])

  writeFileSync(join(host.root, 'var/opt/motion2/.env'), 'DOMAIN=broken\n')
  writeFileSync(join(host.root, 'var/lib/saml-gateway/identity-key.pem'), 'other\n')
  writeFileSync(host.site, host.included)
  const restored = host.run(['restore', archive])
  t.equal(restored.status, 0, restored.stderr)
  t.equal(host.read('var/opt/motion2/.env'), 'DOMAIN=motion.example.com\nXC_SAML_ISSUER=https://motion.example.com\n', '.env')
  t.equal(statSync(join(host.root, 'var/opt/motion2/.env')).mode & 0o777, 0o600, '.env keeps its mode')
  t.equal(host.read('var/lib/saml-gateway/identity-key.pem'), 'key\n', 'data dir')
  t.equal(host.read('etc/nginx/sites-available/motion'), host.pristine, 'Motion\'s site')
  t.same(host.calls().slice(-4), ['systemctl daemon-reload', 'nginx -t', 'systemctl reload nginx', 'systemctl try-restart saml-gateway'])
}

async function checkReadmeProcedure (t: Test): Promise<void> {
  const readme = readFileSync(README, 'utf8')
  const start = readme.indexOf('#### Install on the Motion host, in this order')
  const section = readme.slice(start, readme.indexOf('**Roll back', start))
  const steps = [...section.matchAll(/^\d+\. \*\*[^*]+\*\*[\s\S]*?(?=^\d+\. |$(?![\s\S]))/gm)].map((m) => m[0])
  const commands = steps.flatMap((step) => [...step.matchAll(/`deploy\/saml-gateway\.sh (\w+)`/g)].slice(0, 1).map((m) => m[1]))
  t.same(commands, ['backup', 'install', 'check', 'enable'], 'the numbered steps name these commands, in this order')
  const host = await makeHost(t)
  for (const command of [...commands, 'rollback']) {
    const result = host.run([command])
    t.equal(result.status, 0, `${command}: ${result.stderr}`)
  }
  t.equal(host.read('etc/nginx/sites-available/motion'), host.pristine, 'after the rollback, Motion\'s site as before')
  t.ok(host.calls().indexOf('systemctl enable --now saml-gateway') > host.calls().findIndex((c) => c.startsWith('systemd-run ')), 'checked before it started')
}

async function checkSiteDetection (t: Test): Promise<void> {
  const host = await makeHost(t)
  host.run(['install'])
  writeFileSync(join(host.root, 'etc/nginx/sites-enabled/other'), 'server {\n    listen 443 ssl;\n    server_name other.example.com;\n}\n')
  const ambiguous = host.run(['enable'])
  t.equal(ambiguous.status, 1)
  t.match(ambiguous.stderr, /found 2 files with a server on 443 .* NGINX_SITE=/)
  rmSync(join(host.root, 'etc/nginx/sites-enabled/other'))
  chmodSync(host.site, 0o644)
  const named = host.run(['enable'], { NGINX_SITE: '/etc/nginx/sites-available/motion' })
  t.equal(named.status, 0, named.stderr)
  t.equal(host.read('etc/nginx/sites-available/motion'), host.included)
}

const missing = missingNginxTools()
t.test('deploy/saml-gateway.sh', { skip: process.env.CI === undefined ? missing ?? false : false }, async (t) => {
  if (missing !== undefined) return t.fail(missing)
  t.test('install: user, unit and daemon-reload, nginx files; nothing started, Motion\'s site untouched', checkInstall)
  t.test('check: systemd-run with the unit\'s own settings, its exit status passed on', checkCheck)
  t.test('enable, then rollback: the include line in and out, nginx tested and reloaded, the gateway on and off', checkEnableRollback)
  t.test('enable refused by nginx -t: Motion\'s site is put back, nothing started or reloaded', checkEnableRefused)
  t.test('enable when check fails: nothing changes', checkEnableWhenCheckFails)
  t.test('backup and restore: one 0600 archive of what a rollback needs, put back as it was', checkBackupRestore)
  t.test('the README\'s procedure, step by step, in its order, then its rollback', checkReadmeProcedure)
  t.test('Motion\'s site: found alone, or named; two candidates are a question, not a guess', checkSiteDetection)
})
