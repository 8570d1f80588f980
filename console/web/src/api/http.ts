// The one fetch wrapper: same-origin JSON with the session cookie, errors as ApiError.

export type ErrorParams = Record<string, string | number | boolean | null>

/**
 * A failed call: the HTTP category (`error`), the server's stable `code` and its `params`
 * (worded in the user's language by feedback.ts describeError), the English `message`,
 * and the `field` at fault.
 */
export class ApiError extends Error {
  readonly status: number
  readonly error: string
  readonly code: string
  readonly params: ErrorParams
  readonly field?: string

  constructor(status: number, error: string, message: string, field?: string, code?: string, params?: ErrorParams) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.error = error
    this.code = code ?? error
    this.params = params ?? {}
    if (field !== undefined) this.field = field
  }
}

export type QueryValue = string | number | boolean | null | undefined
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  query?: Query
  /** Sent as JSON. */
  body?: unknown
  /** Sent as is with its content type (CSV import). */
  raw?: { contentType: string; data: string }
  signal?: AbortSignal
  /** Do not run the 401 handler (session probes, the login call itself). */
  quiet401?: boolean
}

type UnauthorizedHandler = () => void
let onUnauthorized: UnauthorizedHandler | null = null

/** Set once at start-up: what to do when a call answers 401 (go to the login page). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler): void {
  onUnauthorized = handler
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const qs = params.toString()
  return qs ? `/api${path}?${qs}` : `/api${path}`
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: string | undefined
  if (options.raw) {
    headers['Content-Type'] = options.raw.contentType
    body = options.raw.data
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }

  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err))
  }

  const payload = await readBody(response)
  if (response.ok) return payload as T

  if (response.status === 401 && !options.quiet401) onUnauthorized?.()
  throw toApiError(response, payload)
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json')) {
    try {
      return await response.json()
    } catch {
      return undefined
    }
  }
  const text = await response.text()
  return text === '' ? undefined : text
}

function toApiError(response: Response, payload: unknown): ApiError {
  if (payload && typeof payload === 'object') {
    const p = payload as Record<string, unknown>
    const error = typeof p.error === 'string' ? p.error : `http_${response.status}`
    const message = typeof p.message === 'string' ? p.message : response.statusText
    const field = typeof p.field === 'string' ? p.field : undefined
    const code = typeof p.code === 'string' ? p.code : undefined
    const params = p.params && typeof p.params === 'object' ? (p.params as ErrorParams) : undefined
    return new ApiError(response.status, error, message, field, code, params)
  }
  return new ApiError(response.status, `http_${response.status}`, response.statusText || `HTTP ${response.status}`)
}

export const http = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PATCH', path, { ...options, body }),
  delete: <T = void>(path: string, options?: RequestOptions) => request<T>('DELETE', path, options),
}

/** Path segment escape for ids in URLs. */
export function seg(value: string): string {
  return encodeURIComponent(value)
}
