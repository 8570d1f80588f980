import type { Component } from 'vue'
import { Bell, DataAnalysis, Document, FolderChecked, Grid, Location, OfficeBuilding, Search, Tickets, Timer, User, VideoCamera, Van } from '@element-plus/icons-vue'
import type { Role } from '../api/auth.ts'
import { AUDITOR_ROLES, CONTROL_ROOM_ROLES, EXPORT_ROLES, STATS_ROLES, UNIT_ROLES, WALL_ROLES } from '../stores/session.ts'

export interface NavItem {
  /** Route name; also the data-test suffix (nav-devices). */
  name: string
  labelKey: string
  icon: Component
  /** Roles that see the entry; absent: every signed-in role. */
  roles?: Role[]
  /** The first path segment that lights the entry, when it is not the route name (/admin/jobs → admin). */
  section?: string
}

export const NAV_ITEMS: NavItem[] = [
  { name: 'wall', labelKey: 'nav.wall', icon: Grid, roles: WALL_ROLES },
  { name: 'map', labelKey: 'nav.map', icon: Location, roles: CONTROL_ROOM_ROLES },
  { name: 'incidents', labelKey: 'nav.incidents', icon: Tickets, roles: CONTROL_ROOM_ROLES },
  { name: 'search', labelKey: 'nav.search', icon: Search, roles: CONTROL_ROOM_ROLES },
  { name: 'alarms', labelKey: 'nav.alarms', icon: Bell, roles: CONTROL_ROOM_ROLES },
  { name: 'units', labelKey: 'nav.units', icon: Van, roles: UNIT_ROLES },
  { name: 'stats', labelKey: 'nav.stats', icon: DataAnalysis, roles: STATS_ROLES },
  { name: 'devices', labelKey: 'nav.devices', icon: VideoCamera },
  { name: 'exports', labelKey: 'nav.exports', icon: FolderChecked, roles: EXPORT_ROLES },
  { name: 'users', labelKey: 'nav.users', icon: User, roles: ['admin'] },
  { name: 'admin-jobs', labelKey: 'nav.adminJobs', icon: Timer, roles: ['admin'], section: 'admin' },
  { name: 'admin-audit', labelKey: 'nav.adminAudit', icon: Document, roles: AUDITOR_ROLES, section: 'admin' },
  { name: 'admin-sites', labelKey: 'nav.adminSites', icon: OfficeBuilding, roles: ['admin'], section: 'admin' },
]
