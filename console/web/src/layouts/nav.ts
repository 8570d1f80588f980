import type { Component } from 'vue'
import { User, VideoCamera } from '@element-plus/icons-vue'
import type { Role } from '../api/auth.ts'

export interface NavItem {
  /** Route name; also the data-test suffix (nav-devices). */
  name: string
  labelKey: string
  icon: Component
  /** Roles that see the entry; absent: every signed-in role. */
  roles?: Role[]
}

// Later pages (视频墙, 警情, 检索, 联动, 统计) add their entry here.
export const NAV_ITEMS: NavItem[] = [
  { name: 'devices', labelKey: 'nav.devices', icon: VideoCamera },
  { name: 'users', labelKey: 'nav.users', icon: User, roles: ['admin'] },
]
