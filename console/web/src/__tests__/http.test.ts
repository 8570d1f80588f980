import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, buildUrl, request, setUnauthorizedHandler } from '../api/http.ts'

function reply(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
  setUnauthorizedHandler(() => {})
})

describe('buildUrl', () => {
  it('prefixes /api and leaves out empty parameters', () => {
    expect(buildUrl('/devices', { q: '路口', kind: '', siteId: undefined, page: 2, enabled: false })).toBe(
      '/api/devices?q=%E8%B7%AF%E5%8F%A3&page=2&enabled=false',
    )
    expect(buildUrl('/health')).toBe('/api/health')
  })
})

describe('request', () => {
  it('sends JSON with the session cookie and parses the answer', async () => {
    const fetchMock = vi.fn(async () => reply(201, { id: 'd1' }))
    vi.stubGlobal('fetch', fetchMock)
    await expect(request('POST', '/devices', { body: { name: 'x' } })).resolves.toEqual({ id: 'd1' })
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/devices')
    expect(init.credentials).toBe('same-origin')
    expect(init.body).toBe('{"name":"x"}')
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json')
  })

  it('throws ApiError with the server error shape, field included', async () => {
    vi.stubGlobal('fetch', async () => reply(409, { error: 'conflict', message: 'code taken', field: 'code' }))
    const err = await request('POST', '/devices', { body: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 409, error: 'conflict', message: 'code taken', field: 'code' })
  })

  it('runs the 401 handler unless told to stay quiet', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    vi.stubGlobal('fetch', async () => reply(401, { error: 'unauthorized', message: 'login' }))
    await expect(request('GET', '/devices')).rejects.toMatchObject({ status: 401 })
    expect(handler).toHaveBeenCalledTimes(1)
    await expect(request('GET', '/auth/me', { quiet401: true })).rejects.toMatchObject({ status: 401 })
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('returns undefined for 204 and reports network failures as status 0', async () => {
    vi.stubGlobal('fetch', async () => reply(204))
    await expect(request('DELETE', '/devices/1')).resolves.toBeUndefined()
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed')
    })
    await expect(request('GET', '/devices')).rejects.toMatchObject({ status: 0, error: 'network' })
  })
})
