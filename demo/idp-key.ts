// The demo IdP's signing key: RSA-2048 and a self-signed X.509 certificate, made once with
// `openssl req -x509` (Node cannot make certificates itself; no npm package needed) and kept in the
// IdP's data dir, so the gateway's XC_SAML_CERT stays valid across restarts.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** `<dataDir>/idp-signing.key` and `.crt`, made on first use. */
export async function loadOrCreateSigningKey (dataDir: string): Promise<{ key: string, cert: string }> {
  const keyFile = join(dataDir, 'idp-signing.key')
  const certFile = join(dataDir, 'idp-signing.crt')
  try {
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const temp = join(dataDir, `.idp-signing-${process.pid}-${randomUUID()}`)
  try {
    await execFileAsync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-subj', '/CN=saml-gateway demo IdP', '-keyout', `${temp}.key`, '-out', `${temp}.crt`])
    // Certificate first: a key without its certificate is never mistaken for a complete pair.
    await rename(`${temp}.crt`, certFile)
    await rename(`${temp}.key`, keyFile)
  } catch (err) {
    await Promise.all([rm(`${temp}.key`, { force: true }), rm(`${temp}.crt`, { force: true })])
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`The demo IdP makes its signing certificate with openssl, which is not on the PATH. Install OpenSSL, or put a PEM RSA key at ${keyFile} and its certificate at ${certFile}.`, { cause: err })
    }
    throw err
  }
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') }
}
