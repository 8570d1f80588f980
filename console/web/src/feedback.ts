import { ElMessage } from 'element-plus'
import { ApiError } from './api/http.ts'
import { i18n } from './i18n/index.ts'

/**
 * A failed call in the user's language: the server's stable code looked up in the
 * apiErrors catalogue (i18n/api-errors/) with its parameters, `{field}` worded by
 * `fieldLabel` when the page knows its fields; the server's English message only
 * when the code is unknown to this build of the web app.
 */
export function describeError(err: unknown, fieldLabel?: (field: string) => string | undefined): string {
  // vue-i18n's key types are too deep for codes built at run time: plain string keys here.
  const { t, te } = i18n.global as unknown as { t: (key: string, params?: Record<string, unknown>) => string; te: (key: string) => boolean }
  if (err instanceof ApiError) {
    if (err.status === 0) return t('errors.network')
    const key = `apiErrors.${err.code}`
    if (te(key)) {
      const field = err.field ? (fieldLabel?.(err.field) ?? err.field) : ''
      const params: Record<string, unknown> = { field, ...err.params }
      if (typeof params.what === 'string' && te(`apiErrors.what.${params.what}`)) params.what = t(`apiErrors.what.${params.what}`)
      return t(key, params)
    }
    return err.message || err.error
  }
  return t('errors.failed', { message: err instanceof Error ? err.message : String(err) })
}

/**
 * A failure recorded with its code (an export that failed): worded from the catalogue when
 * this build knows the code, else the recorded English text.
 */
export function describeCode(code: string | null | undefined, fallback: string | null | undefined): string {
  const { t, te } = i18n.global as unknown as { t: (key: string) => string; te: (key: string) => boolean }
  if (code && te(`apiErrors.${code}`)) return t(`apiErrors.${code}`)
  return fallback || code || ''
}

/** Show a failed call to the user. A 401 is not shown: the app is already on its way to the login page. */
export function reportError(err: unknown, fieldLabel?: (field: string) => string | undefined): void {
  if (err instanceof DOMException && err.name === 'AbortError') return
  if (err instanceof ApiError && err.status === 401) return
  ElMessage.error(describeError(err, fieldLabel))
}
