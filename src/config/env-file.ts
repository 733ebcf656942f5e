// Reading a .env file as administrators write Motion's: node:util's parseEnv for the syntax, after
// a scan for the one mistake it cannot survive — a value pasted over several lines without quotes
// (a certificate, typically). parseEnv would glue those lines and the next variable into one
// nonsense name, so a variable that is plainly set is reported missing. The scan finds such lines,
// names them, and takes them out of what parseEnv sees.
import { parseEnv } from 'node:util'

export interface EnvFileReading {
  values: Record<string, string>
  problems: string[]
  warnings: string[]
}

/** Variables whose value may be pasted over several lines: read as one value, with a warning. */
const MULTI_LINE_TOLERATED = new Set(['XC_SAML_CERT'])

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/
/** A line of base64 with padding (`…AB==`) also looks like NAME=value; after a value it is more of it. */
const BASE64_LINE = /^\s*[A-Za-z0-9+/]{8,}={1,2}\s*$/
const QUOTES = ['"', "'", '`']

interface Continued { name: string, line: number, first: number, last: number, parts: string[] }

export function readEnvFile (text: string, file: string): EnvFileReading {
  const lines = text.split(/\r?\n/)
  const continued: Continued[] = []
  const dropped = new Set<number>()
  let open: Continued | undefined // the last unquoted assignment, which lines may continue
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) { open = undefined; continue }
    const assignment = ASSIGNMENT.exec(line)
    if (assignment !== null && !(open !== undefined && BASE64_LINE.test(line))) {
      const value = assignment[2].trim()
      const quote = QUOTES.find((q) => value.startsWith(q))
      if (quote !== undefined) {
        open = undefined
        // A quoted value may span lines: skip to its closing quote.
        if (!closes(value.slice(1), quote)) while (i + 1 < lines.length && !closes(lines[++i], quote)) { /* inside the quotes */ }
        continue
      }
      open = { name: assignment[1], line: i + 1, first: 0, last: 0, parts: [value.replace(/\s+#.*$/, '')] }
      continue
    }
    if (open === undefined) continue // a stray line: parseEnv ignores it as well
    if (open.first === 0) { open.first = i + 1; continued.push(open) }
    open.last = i + 1
    open.parts.push(trimmed)
    dropped.add(i)
  }

  const problems: string[] = []
  const warnings: string[] = []
  const clean = lines.map((line, i) => dropped.has(i) ? '' : line)
  for (const c of continued) {
    const where = `${file} line ${c.line}`
    const next = c.first === c.last ? `line ${c.first}` : `lines ${c.first}–${c.last}`
    if (MULTI_LINE_TOLERATED.has(c.name)) {
      clean[c.line - 1] = `${c.name}=${c.parts.join('')}`
      warnings.push(`${c.name} (${where}): the value continues on the next ${next} without quotes; the gateway read them as one value, other programs reading this file will not. Fix: put it on one line, or in double quotes`)
    } else {
      problems.push(`${c.name} (${where}): the value continues on the next ${next} without quotes. Fix: put it on one line, or in double quotes`)
    }
  }
  return { values: parseEnv(clean.join('\n')) as Record<string, string>, problems, warnings }
}

/** Whether `text` holds the closing `quote` (not escaped with a backslash). */
function closes (text: string, quote: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') { i++; continue }
    if (text[i] === quote) return true
  }
  return false
}
