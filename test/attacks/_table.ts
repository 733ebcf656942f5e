// The attack table of SECURITY.md: rendered from what the attack test observed, and found again
// between its markers so that the test can compare (or, with UPDATE_SECURITY_MD=1, rewrite) it.

export const TABLE_START = '<!-- attack-table:start (written by test/attacks/attacks.test.ts with UPDATE_SECURITY_MD=1; do not edit by hand) -->'
export const TABLE_END = '<!-- attack-table:end -->'

export interface TableRow {
  id: string
  family: string
  title: string
  signature: string
  settings: string
  acs: string
  sloPost: string
  sloRedirect: string
}

const cell = (value: string): string => value.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function renderTable (rows: TableRow[]): string {
  const lines = [
    '| id | family | attack | IdP signature, plain xml-crypto | settings | ACS | SLO POST | SLO Redirect |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| \`${r.id}\` | ${cell(r.family)} | ${cell(r.title)} | ${cell(r.signature)} | ${cell(r.settings)} | ${cell(r.acs)} | ${cell(r.sloPost)} | ${cell(r.sloRedirect)} |`)
  ]
  return lines.join('\n')
}

/** The table between the markers, or undefined when the markers are missing. */
export function tableIn (markdown: string): string | undefined {
  const start = markdown.indexOf(TABLE_START)
  const end = markdown.indexOf(TABLE_END)
  if (start === -1 || end === -1 || end < start) return undefined
  return markdown.slice(start + TABLE_START.length, end).trim()
}

export function withTable (markdown: string, table: string): string {
  const start = markdown.indexOf(TABLE_START)
  const end = markdown.indexOf(TABLE_END)
  if (start === -1 || end === -1 || end < start) throw new Error(`SECURITY.md lacks the markers ${TABLE_START} … ${TABLE_END}`)
  return `${markdown.slice(0, start + TABLE_START.length)}\n${table}\n${markdown.slice(end)}`
}
