// The server-to-server call that hands the authenticated person to Motion (or any upstream), and
// the classification of its answer: relayed to the browser, a profile chooser, a refusal, or down.
import { request, type Dispatcher } from 'undici'
import { IDENTITY_HEADER } from '../identity/mint.js'

export interface Profile { id: string, label: string, role?: string }

export type HandoffResult =
  | { kind: 'relay', status: number, location?: string, setCookie: string[], contentType?: string, body: Buffer }
  | { kind: 'choose', profiles: Profile[] }
  | { kind: 'refused', status: number, message?: string }
  | { kind: 'unavailable', reason: string }

const MAX_BODY = 1024 * 1024

export interface HandoffRequest {
  url: string
  token: string
  body: Record<string, unknown>
  timeoutMs: number
  correlationId: string
  dispatcher?: Dispatcher
}

export async function handOff (req: HandoffRequest): Promise<HandoffResult> {
  let res: Dispatcher.ResponseData<unknown>
  try {
    res = await request(req.url, {
      method: 'POST',
      headers: {
        [IDENTITY_HEADER]: req.token,
        'content-type': 'application/json',
        accept: 'application/json, text/html;q=0.9, */*;q=0.1',
        'x-request-id': req.correlationId
      },
      body: JSON.stringify(req.body),
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      dispatcher: req.dispatcher
    })
  } catch (err) {
    return { kind: 'unavailable', reason: (err as Error).message }
  }
  let body: Buffer
  try {
    body = await readLimited(res.body)
  } catch (err) {
    return { kind: 'unavailable', reason: (err as Error).message }
  }
  const contentType = header(res.headers['content-type'])
  const json = contentType?.includes('json') === true ? parseJson(body) : undefined

  if (res.statusCode === 300) {
    const profiles = parseProfiles(json)
    return profiles.length > 0 ? { kind: 'choose', profiles } : { kind: 'unavailable', reason: 'a 300 answer without profiles' }
  }
  if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) {
    const message = typeof json?.message === 'string' ? json.message.slice(0, 500) : undefined
    return { kind: 'refused', status: res.statusCode, message }
  }
  if (res.statusCode >= 500 || res.statusCode < 200) {
    return { kind: 'unavailable', reason: `status ${res.statusCode}` }
  }
  const setCookie = res.headers['set-cookie']
  return {
    kind: 'relay',
    status: res.statusCode,
    location: header(res.headers.location),
    setCookie: setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie],
    contentType,
    body
  }
}

async function readLimited (stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += chunk.length
    if (size > MAX_BODY) throw new Error('upstream answer larger than 1 MiB')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function header (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function parseJson (body: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(body.toString('utf8'))
    return value !== null && typeof value === 'object' ? value : undefined
  } catch {
    return undefined
  }
}

function parseProfiles (json: Record<string, unknown> | undefined): Profile[] {
  const list = Array.isArray(json?.profiles) ? json.profiles : []
  return list
    .filter((p): p is Record<string, unknown> => p !== null && typeof p === 'object' && (typeof p.id === 'string' || typeof p.id === 'number'))
    .slice(0, 50)
    .map((p) => ({
      id: String(p.id),
      label: typeof p.label === 'string' ? p.label : String(p.id),
      role: typeof p.role === 'string' ? p.role : undefined
    }))
}
