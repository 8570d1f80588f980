import { ref } from 'vue'
import { defineStore } from 'pinia'
import { fetchHealth, listSites, type Site } from '../api/platform.ts'
import { zonedParts } from '../components/timeline-model.ts'

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone

/** Site-wide facts the pages share: the site time zone and the list of areas. */
export const usePlatformStore = defineStore('platform', () => {
  const timezone = ref<string>(browserZone)
  const sites = ref<Site[]>([])
  let healthLoaded = false
  let sitesLoading: Promise<void> | null = null

  async function loadHealth(): Promise<void> {
    if (healthLoaded) return
    try {
      const health = await fetchHealth()
      if (health.timezone && isValidZone(health.timezone)) timezone.value = health.timezone
      healthLoaded = true
    } catch {
      // keep the browser zone; try again on the next call
    }
  }

  function loadSites(force = false): Promise<void> {
    if (sitesLoading && !force) return sitesLoading
    sitesLoading = listSites()
      .then((items) => {
        sites.value = items
      })
      .catch(() => {
        sitesLoading = null
      })
    return sitesLoading
  }

  /** An ISO UTC time shown in the site time zone. */
  function formatTime(iso: string | null | undefined, withSeconds = true): string {
    if (!iso) return '—'
    const date = new Date(iso)
    if (Number.isNaN(date.getTime())) return '—'
    return formatIn(timezone.value, date, withSeconds)
  }

  return { timezone, sites, loadHealth, loadSites, formatTime }
})

const pad = (n: number) => String(n).padStart(2, '0')

/** Always YYYY-MM-DD HH:mm[:ss], 24 h, whatever the language: what a control room expects to read. */
function formatIn(timeZone: string, date: Date, withSeconds: boolean): string {
  const p = zonedParts(date.getTime(), timeZone)
  const time = `${pad(p.hour)}:${pad(p.minute)}` + (withSeconds ? `:${pad(p.second)}` : '')
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${time}`
}

function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}
