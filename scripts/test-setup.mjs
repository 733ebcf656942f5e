// npm test's `pretest`: the Debian packages the tests use, installed when they are missing and this
// user may install them (root, or sudo without a password); otherwise one line says which tests
// will skip. TEST_NO_INSTALL=1 never installs.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const onPath = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0
const debian = (name) => () => /^Status: install ok installed$/m.test(spawnSync('dpkg', ['-s', name], { encoding: 'utf8' }).stdout ?? '')
const needed = [
  ['redis-server', () => onPath('redis-server'), 'the Redis store tests'],
  ['chromium', () => existsSync('/usr/bin/chromium'), 'the browser journeys'],
  ['nginx', () => existsSync('/usr/sbin/nginx'), 'the browser journeys'],
  ['openssl', () => onPath('openssl'), 'the browser journeys'],
  ...['simplesamlphp', 'php-cli', 'php-xml', 'php-mbstring', 'python3-pysaml2', 'xmlsec1', 'python3-lasso']
    .map((name) => [name, debian(name), 'the interop tests with real IdPs']),
  ['systemd', () => onPath('systemd-analyze'), 'the systemd unit test']
]
const missing = needed.filter(([, present]) => !present())
if (missing.length === 0) process.exit(0)

const names = missing.map(([name]) => name)
const canInstall = process.env.TEST_NO_INSTALL !== '1' && onPath('apt-get') &&
  (process.getuid?.() === 0 || spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0)
if (canInstall) {
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n']
  const run = (args) => execFileSync(sudo[0] ?? args[0], [...sudo.slice(1), ...(sudo.length > 0 ? args : args.slice(1))], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  })
  process.stdout.write(`test set-up: installing ${names.join(' ')}\n`)
  try {
    run(['apt-get', 'update', '-qq'])
    run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...names])
    process.exit(0)
  } catch (err) {
    process.stdout.write(`test set-up: could not install them (${err.message.split('\n')[0]})\n`)
  }
}
const what = [...new Set(missing.map(([, , tests]) => tests))].join(' and ')
process.stdout.write(`test set-up: ${names.join(', ')} not installed, so ${what} will be skipped (CI fails instead). To run them: sudo apt-get install -y ${names.join(' ')}\n`)
