// How an alarm reads in the user's language: kind, device, details, times in the site time zone.
import { useI18n } from 'vue-i18n'
import type { Alarm } from '../../api/alarms.ts'
import { currentLocale } from '../../i18n/index.ts'
import { usePlatformStore } from '../../stores/platform.ts'
import { formatDuration } from '../quantities.ts'
import { detailParts } from './alarm-model.ts'

export function useAlarmText() {
  const { t, te } = useI18n()
  const platform = usePlatformStore()

  const kindLabel = (a: Pick<Alarm, 'kind'>) => (te(`alarms.kind.${a.kind}`) ? t(`alarms.kind.${a.kind}`) : a.kind)
  const severityLabel = (a: Pick<Alarm, 'severity'>) => t(`alarms.severity.${a.severity}`)
  const deviceLabel = (a: Pick<Alarm, 'deviceName'>) => a.deviceName || t('alarms.noDevice')
  const time = (iso: string | null) => platform.formatTime(iso)

  function detailText(a: Pick<Alarm, 'kind' | 'details'>): string {
    return detailParts(a.kind, a.details)
      .map((p) => {
        if (p.key === 'gap') {
          return t('alarms.details.gap', { from: time(p.params.from), to: time(p.params.to), duration: formatDuration(p.params.seconds * 1000, currentLocale.value) })
        }
        return t(`alarms.details.${p.key}`, p.params)
      })
      .join('；')
  }

  return { kindLabel, severityLabel, deviceLabel, detailText, time }
}
