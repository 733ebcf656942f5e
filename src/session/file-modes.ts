// Files only the service can read, whatever the umask: the data dir 0700; the SQLite files (with
// their -wal and -shm companions), generated keys and secrets 0600. A mode given at creation is
// masked by the umask, so each is also set explicitly; a file of another owner is left as it is
// (`check` reports it).
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600
/** What SQLite writes beside `sessions.sqlite` while it is open. */
export const SQLITE_COMPANIONS = ['-wal', '-shm'] as const
/** The files a gateway may keep in its data dir; each must be private. */
export const DATA_DIR_FILES = ['sessions.sqlite', 'sessions.sqlite-wal', 'sessions.sqlite-shm', 'session-secret', 'identity-key.pem']

/** Creates the directory when missing and makes it 0700 when it is ours. */
export function ensurePrivateDir (dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  tighten(dir, PRIVATE_DIR_MODE)
}

/** Makes `file` 0600 when it is ours; with `create`, first creates it (empty) when missing. */
export function openPrivateFile (file: string, create = false): void {
  if (create) closeSync(openSync(file, 'a', PRIVATE_FILE_MODE))
  tighten(file, PRIVATE_FILE_MODE)
}

function tighten (path: string, mode: number): void {
  let stats
  try {
    stats = statSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  const ours = process.getuid === undefined || stats.uid === process.getuid()
  if (ours && (stats.mode & 0o777) !== mode) chmodSync(path, mode)
}

/**
 * Warnings for every path that group or others may read or enter: the data dir and its files, and
 * the key and secret files the configuration names.
 */
export function looserModes (dataDir: string, secretFiles: ReadonlyArray<[string, string]> = []): string[] {
  const warnings: string[] = []
  const check = (path: string, label: string, wanted: number): void => {
    let mode: number
    try {
      mode = statSync(path).mode & 0o777
    } catch {
      return
    }
    if ((mode & 0o077) !== 0) {
      warnings.push(`${label}: ${path} has mode ${octal(mode)}; group and others can reach it. Fix: chmod ${octal(wanted)} ${path}`)
    }
  }
  check(dataDir, 'GATEWAY_DATA_DIR', PRIVATE_DIR_MODE)
  for (const name of DATA_DIR_FILES) check(join(dataDir, name), 'GATEWAY_DATA_DIR', PRIVATE_FILE_MODE)
  for (const [variable, file] of secretFiles) check(file, variable, PRIVATE_FILE_MODE)
  return warnings
}

function octal (mode: number): string {
  return mode.toString(8).padStart(4, '0')
}
