import { ElMessageBox } from 'element-plus'
import { i18n } from '../i18n/index.ts'

/** A mobile camera's new RTMP stream key, shown once: it is stored only as a hash. */
export async function showStreamKeyOnce(name: string, streamKey: string): Promise<void> {
  const t = i18n.global.t as unknown as (key: string, params?: Record<string, unknown>) => string
  await ElMessageBox.alert(`${t('streamKey.onceNotice', { name })}\n\n${streamKey}`, t('streamKey.title'), {
    confirmButtonText: t('streamKey.copied'),
    customClass: 'sk-stream-key',
  }).catch(() => {})
}
