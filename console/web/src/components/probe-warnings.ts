// What an ONVIF probe dropped from the camera's answer (a file: or concat: stream URI…), in the
// user's language: each warning carries a code and parameters like an API error (api-errors/onvif.ts).
import { h } from 'vue'
import { ElMessage } from 'element-plus'
import { ApiError } from '../api/http.ts'
import type { ProbeWarning } from '../api/devices.ts'
import { describeError } from '../feedback.ts'

export function describeProbeWarning(w: ProbeWarning): string {
  return describeError(new ApiError(200, 'warning', w.message, undefined, w.code, w.params))
}

/** Show a probe's warnings together (they stay until closed or for 10 s). */
export function showProbeWarnings(warnings: readonly ProbeWarning[] | undefined): void {
  if (!warnings?.length) return
  ElMessage({
    type: 'warning',
    message: h('div', { 'data-test': 'probe-warnings' }, warnings.map((w) => h('div', describeProbeWarning(w)))),
    duration: 10_000,
    showClose: true,
  })
}
