import type { Component } from 'vue'
import { FolderChecked, Timer, User, VideoCamera } from '@element-plus/icons-vue'
import type { Role } from '../api/auth.ts'
import { EXPORT_ROLES } from '../stores/session.ts'

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

// Later pages (视频墙, 警情, 检索, 联动, 统计) add their entry here.
export const NAV_ITEMS: NavItem[] = [
  { name: 'devices', labelKey: 'nav.devices', icon: VideoCamera },
  { name: 'exports', labelKey: 'nav.exports', icon: FolderChecked, roles: EXPORT_ROLES },
  { name: 'users', labelKey: 'nav.users', icon: User, roles: ['admin'] },
  { name: 'admin-jobs', labelKey: 'nav.adminJobs', icon: Timer, roles: ['admin'], section: 'admin' },
]
