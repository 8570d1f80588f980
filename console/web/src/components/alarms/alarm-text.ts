// How an alarm reads in the user's language: kind, device, details, times in the site time zone.
// Reasons come as codes (alarms.reason.<code>) with the server's English text as the fallback.
import { useI18n } from 'vue-i18n'
import type { Alarm } from '../../api/alarms.ts'
import { currentLocale } from '../../i18n/index.ts'
import { usePlatformStore } from '../../stores/platform.ts'
import { formatDuration } from '../quantities.ts'
import { detailParts, reasonText, type AlarmCause } from './alarm-model.ts'

export function useAlarmText() {
  const { t, te } = useI18n()
  const platform = usePlatformStore()

  const kindLabel = (a: Pick<Alarm, 'kind'>) => (te(`alarms.kind.${a.kind}`) ? t(`alarms.kind.${a.kind}`) : a.kind)
  const severityLabel = (a: Pick<Alarm, 'severity'>) => t(`alarms.severity.${a.severity}`)
  const deviceLabel = (a: Pick<Alarm, 'deviceName'>) => a.deviceName || t('alarms.noDevice')
  const time = (iso: string | null) => platform.formatTime(iso)

  /** One cause in words, with its address when it has one; null when this console has no wording for the code. */
  function causeText(c: AlarmCause): string | null {
    const key = `alarms.reason.${c.code}`
    if (!te(key)) return null
    const text = t(key, c.params)
    const address = typeof c.params.address === 'string' ? c.params.address : ''
    return address ? t('alarms.details.causeAt', { reason: text, address }) : text
  }

  function detailText(a: Pick<Alarm, 'kind' | 'details'>): string {
    return detailParts(a.kind, a.details)
      .map((p) => {
        if (p.key === 'gap') {
          return t('alarms.details.gap', { from: time(p.params.from), to: time(p.params.to), duration: formatDuration(p.params.seconds * 1000, currentLocale.value) })
        }
        if (p.key === 'reason') {
          const reason = reasonText(p, causeText, t('alarms.details.causeSeparator'))
          return reason ? t('alarms.details.reason', { reason }) : ''
        }
        return t(`alarms.details.${p.key}`, p.params)
      })
      .filter(Boolean)
      .join(t('alarms.details.separator'))
  }

  return { kindLabel, severityLabel, deviceLabel, detailText, time }
}
