import { ElMessage, ElMessageBox } from 'element-plus'
import { deleteDevice } from '../api/devices.ts'
import { reportError } from '../feedback.ts'
import { i18n } from '../i18n/index.ts'

/**
 * Ask, delete (the server decommissions: the device leaves the list and the gateway, its
 * footage is kept until its retention period ends), say so. Resolves true when the device
 * is gone from service, false when cancelled or refused.
 */
export async function confirmAndDeleteDevice(device: { id: string; name: string; recording: { retentionDays: number } }): Promise<boolean> {
  const t = i18n.global.t
  try {
    await ElMessageBox.confirm(
      t('deviceList.deleteConfirm', { name: device.name, days: device.recording.retentionDays }),
      t('deviceList.deleteTitle'),
      {
        type: 'warning',
        confirmButtonText: t('common.delete'),
        cancelButtonText: t('common.cancel'),
        confirmButtonClass: 'el-button--danger',
      },
    )
  } catch {
    return false
  }
  try {
    await deleteDevice(device.id)
    ElMessage.success(t('common.deleted'))
    return true
  } catch (err) {
    reportError(err)
    return false
  }
}
