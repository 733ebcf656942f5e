// deploy/saml-gateway.service as systemd itself reads it (systemd-analyze verify, no running
// systemd needed): every key known, every specifier resolved, the command there.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const UNIT = fileURLToPath(new URL('../../deploy/saml-gateway.service', import.meta.url))
const ANALYZE = '/usr/bin/systemd-analyze'
const tool = spawnSync(ANALYZE, ['--version'])
const missing = tool.status === 0 ? undefined : 'not installed: systemd-analyze. Install with: apt-get install -y systemd'

t.test('systemd-analyze verify deploy/saml-gateway.service', { skip: process.env.CI === undefined ? missing ?? false : false }, async (t) => {
  if (missing !== undefined) return t.fail(missing)
  const dir = mkdtempSync(join(tmpdir(), 'saml-gateway-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const unit = join(dir, 'saml-gateway.service')
  copyFileSync(UNIT, unit)
  const result = spawnSync(ANALYZE, ['verify', unit], { encoding: 'utf8' })
  t.equal(result.status, 0, 'verified')
  const aboutUnit = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes('saml-gateway.service'))
  t.same(aboutUnit, [], 'no warning about the unit (unknown keys, bad values, missing command)')
})
