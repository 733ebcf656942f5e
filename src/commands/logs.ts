// `saml-gateway logs`: the gateway's JSON log lines (pino) as lines a person reads, from stdin:
//   journalctl -u saml-gateway -o cat | npx saml-gateway logs
// Time in UTC, the level, the code and the message, then the fields an administrator looks for
// (expected/received values of a rejection, SAML ids, the correlation id). Lines that are not
// JSON pass through unchanged.
import { createInterface } from 'node:readline'

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
/** Printed by the line itself or not at all. */
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'code', 'reqId', 'correlationId', 'v'])

export function formatLogLine (line: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line)
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line
  } catch {
    return line
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'
  const level = LEVELS[entry.level as number] ?? String(entry.level ?? '-')
  const code = typeof entry.code === 'string' ? ` ${entry.code}` : ''
  const head = `${time} ${level.padEnd(5)}${code} ${String(entry.msg ?? '')}`
  const lines = [head]
  const id = entry.correlationId ?? entry.reqId
  for (const [key, value] of Object.entries(entry)) {
    if (SKIP.has(key) || value === undefined) continue
    lines.push(`    ${key}: ${describe(value)}`)
  }
  if (id !== undefined) lines.push(`    reference: ${String(id)}`)
  return lines.join('\n')
}

function describe (value: unknown): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export async function printLogs (input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() !== '') output.write(formatLogLine(line) + '\n')
  }
}
