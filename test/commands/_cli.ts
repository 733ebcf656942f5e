// The saml-gateway command as an operator runs it: a process, through the TypeScript entry (the
// test's own loader flags), in a folder of the test's, with an environment of the test's.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/idp.js'

export interface CliResult { status: number, stdout: string, stderr: string }

/** This process's environment without any setting of ours, so that only a .env (or `extra`) counts. */
export function cleanEnv (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(GATEWAY_|XC_SAML_|DOMAIN$)/.test(k)) env[k] = v
  }
  return { ...env, ...extra }
}

/** Asynchronously, so that servers of the test keep answering meanwhile; `status` is the exit code. */
export async function runCli (args: string[], opts: { cwd: string, env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [...process.execArgv, join(REPO_ROOT, 'src', 'cli.ts'), ...args], { cwd: opts.cwd, env: opts.env ?? cleanEnv(), encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ status: err === null ? 0 : Number((err as { code?: number }).code), stdout, stderr }))
  })
}
