import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { fetchMe, login as apiLogin, logout as apiLogout, type Role, type User } from '../api/auth.ts'
import { ApiError } from '../api/http.ts'
import { adoptAccountLocale } from '../i18n/index.ts'

/** Who may open 证据导出: investigators, their supervisors and admins. */
export const EXPORT_ROLES: Role[] = ['investigator', 'supervisor', 'admin']
// The control room's role sets: the same lists the server's routes declare (core/identity/types.ts).
/** Read incidents, alarms, search (CONTROL_ROOM). */
export const CONTROL_ROOM_ROLES: Role[] = ['admin', 'supervisor', 'monitor', 'investigator']
/** Run the wall, tours, alarms and incidents (MONITORS). */
export const MONITOR_ROLES: Role[] = ['admin', 'monitor']
/** Open the video wall and the map's live view (WALL_VIEWERS). */
export const WALL_ROLES: Role[] = ['admin', 'supervisor', 'monitor']
/** Search footage and bookmark moments on incidents (INVESTIGATORS). */
export const INVESTIGATOR_ROLES: Role[] = ['admin', 'monitor', 'investigator']
/** Read the audit log (AUDITORS). */
export const AUDITOR_ROLES: Role[] = ['admin', 'supervisor']
/** Statistics (警情分析) and the daily brief: supervisors and admins. */
export const STATS_ROLES: Role[] = ['admin', 'supervisor']
/** Patrol units (巡逻力量) and the linkage: the control room reads them; monitors cue, admins manage. */
export const UNIT_ROLES: Role[] = ['admin', 'supervisor', 'monitor']
/** The patrol mobile view (巡逻终端). */
export const PATROL_ROLES: Role[] = ['patrol']

export const useSessionStore = defineStore('session', () => {
  const user = ref<User | null>(null)
  /** True once /auth/me has answered (with a user or 401). */
  const checked = ref(false)

  function hasRole(...roles: Role[]): boolean {
    return !!user.value && user.value.roles.some((r) => roles.includes(r))
  }

  const canManageDevices = computed(() => hasRole('admin'))
  const canControlPtz = computed(() => hasRole('admin', 'monitor'))
  /** The roles the server lets take and see snapshots (STAFF) and ask for an evidence export; it enforces the same. */
  const canTakeSnapshots = computed(() => hasRole('admin', 'supervisor', 'monitor', 'investigator'))
  const canExport = computed(() => hasRole(...EXPORT_ROLES))

  async function ensureLoaded(): Promise<User | null> {
    if (checked.value) return user.value
    try {
      user.value = await fetchMe()
      adoptAccountLocale(user.value.locale)
      checked.value = true
    } catch (err) {
      user.value = null
      // A 401 is an answer; a network error is not, so the next navigation asks again.
      if (err instanceof ApiError && err.status === 401) checked.value = true
    }
    return user.value
  }

  async function login(username: string, password: string): Promise<User> {
    user.value = await apiLogin(username, password)
    checked.value = true
    adoptAccountLocale(user.value.locale)
    return user.value
  }

  async function logout(): Promise<void> {
    try {
      await apiLogout()
    } finally {
      clear()
    }
  }

  /** Forget the user (after a 401 from any call). */
  function clear(): void {
    user.value = null
    checked.value = true
  }

  return { user, checked, hasRole, canManageDevices, canControlPtz, canTakeSnapshots, canExport, ensureLoaded, login, logout, clear }
})
