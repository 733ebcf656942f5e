// npm's `prepare`: build dist/ right after `npm ci`, so that `npx saml-gateway …` works at once.
// An install without devDependencies (no TypeScript) cannot build: it says so and goes on.
import { spawnSync } from 'node:child_process'
import { chmodSync } from 'node:fs'
import { createRequire } from 'node:module'

let tsc
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  process.stdout.write('saml-gateway: TypeScript is not installed (production install); run `npm run build` where it is, or use a built package.\n')
  process.exit(0)
}
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' })
if (result.status !== 0) process.exit(result.status ?? 1)
// npm made the bin executable when it linked it, before this build wrote the file: do it here.
chmodSync(new URL('../dist/src/cli.js', import.meta.url), 0o755)
