import { ElMessage } from 'element-plus'
import { ApiError } from './api/http.ts'
import { i18n } from './i18n/index.ts'

/** Show a failed call to the user. A 401 is not shown: the app is already on its way to the login page. */
export function reportError(err: unknown): void {
  if (err instanceof DOMException && err.name === 'AbortError') return
  if (err instanceof ApiError) {
    if (err.status === 401) return
    if (err.status === 0) {
      ElMessage.error(i18n.global.t('errors.network'))
      return
    }
    ElMessage.error(err.message || err.error)
    return
  }
  ElMessage.error(i18n.global.t('errors.failed', { message: err instanceof Error ? err.message : String(err) }))
}
