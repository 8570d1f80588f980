import { watch } from 'vue'
import { createRouter, createWebHistory, type RouteLocationRaw } from 'vue-router'
import { AUDITOR_ROLES, CONTROL_ROOM_ROLES, EXPORT_ROLES, PATROL_ROLES, STATS_ROLES, UNIT_ROLES, WALL_ROLES, useSessionStore } from './stores/session.ts'
import { i18n } from './i18n/index.ts'
import type { Role } from './api/auth.ts'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session. */
    public?: boolean
    /** i18n key of the page title. */
    titleKey?: string
    /** Roles that may open the page; absent: every signed-in role. The server enforces the same. */
    roles?: Role[]
  }
}

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    {
      path: '/login',
      name: 'login',
      component: () => import('./pages/LoginPage.vue'),
      meta: { public: true, titleKey: 'login.title' },
    },
    {
      // The patrol phone (390×844, one hand): its own layout, no console navigation.
      path: '/patrol',
      name: 'patrol',
      component: () => import('./pages/PatrolPage.vue'),
      meta: { titleKey: 'nav.patrol', roles: PATROL_ROLES },
    },
    {
      path: '/',
      component: () => import('./layouts/ConsoleLayout.vue'),
      children: [
        {
          // The start page: the patrol phone for a user who is only a patrol officer, the device list otherwise.
          // A guard, not a redirect: redirects run before the session is loaded.
          path: '',
          name: 'home',
          component: { render: () => null },
          beforeEnter: async () => {
            const session = useSessionStore()
            const user = await session.ensureLoaded()
            return user && user.roles.length > 0 && user.roles.every((r) => r === 'patrol') ? { name: 'patrol' } : { name: 'devices' }
          },
        },
        {
          path: 'wall',
          name: 'wall',
          component: () => import('./pages/WallPage.vue'),
          meta: { titleKey: 'nav.wall', roles: WALL_ROLES },
        },
        {
          path: 'map',
          name: 'map',
          component: () => import('./pages/MapPage.vue'),
          meta: { titleKey: 'nav.map', roles: CONTROL_ROOM_ROLES },
        },
        {
          path: 'incidents',
          name: 'incidents',
          component: () => import('./pages/IncidentsPage.vue'),
          meta: { titleKey: 'nav.incidents', roles: CONTROL_ROOM_ROLES },
        },
        {
          path: 'incidents/:id',
          name: 'incident',
          component: () => import('./pages/IncidentDetailPage.vue'),
          props: true,
          meta: { titleKey: 'nav.incidents', roles: CONTROL_ROOM_ROLES },
        },
        {
          path: 'search',
          name: 'search',
          component: () => import('./pages/SearchPage.vue'),
          meta: { titleKey: 'nav.search', roles: CONTROL_ROOM_ROLES },
        },
        {
          path: 'alarms',
          name: 'alarms',
          component: () => import('./pages/AlarmsPage.vue'),
          meta: { titleKey: 'nav.alarms', roles: CONTROL_ROOM_ROLES },
        },
        {
          path: 'units',
          name: 'units',
          component: () => import('./pages/UnitsPage.vue'),
          meta: { titleKey: 'nav.units', roles: UNIT_ROLES },
        },
        {
          path: 'stats',
          name: 'stats',
          component: () => import('./pages/StatsPage.vue'),
          meta: { titleKey: 'nav.stats', roles: STATS_ROLES },
        },
        {
          path: 'stats/brief',
          name: 'stats-brief',
          component: () => import('./pages/DailyBriefPage.vue'),
          meta: { titleKey: 'stats.brief.title', roles: STATS_ROLES },
        },
        {
          path: 'admin/audit',
          name: 'admin-audit',
          component: () => import('./pages/AuditPage.vue'),
          meta: { titleKey: 'nav.adminAudit', roles: AUDITOR_ROLES },
        },
        {
          path: 'admin/sites',
          name: 'admin-sites',
          component: () => import('./pages/SitesPage.vue'),
          meta: { titleKey: 'nav.adminSites', roles: ['admin'] },
        },
        {
          path: 'devices',
          name: 'devices',
          component: () => import('./pages/DeviceListPage.vue'),
          meta: { titleKey: 'nav.devices' },
        },
        {
          path: 'devices/:id',
          name: 'device',
          component: () => import('./pages/DeviceDetailPage.vue'),
          props: true,
          meta: { titleKey: 'nav.devices' },
        },
        {
          path: 'users',
          name: 'users',
          component: () => import('./pages/UsersPage.vue'),
          meta: { titleKey: 'nav.users', roles: ['admin'] },
        },
        {
          path: 'exports',
          name: 'exports',
          component: () => import('./pages/ExportsPage.vue'),
          meta: { titleKey: 'nav.exports', roles: EXPORT_ROLES },
        },
        {
          path: 'admin/jobs',
          name: 'admin-jobs',
          component: () => import('./pages/AdminJobsPage.vue'),
          meta: { titleKey: 'nav.adminJobs', roles: ['admin'] },
        },
        {
          path: 'player/:id',
          name: 'player',
          component: () => import('./pages/PlayerPage.vue'),
          props: true,
          meta: { titleKey: 'player.title' },
        },
      ],
    },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
})

/** Only same-app paths are accepted as a post-login target (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')
    ? next
    : '/'
}

export function loginRoute(next: string): RouteLocationRaw {
  return next === '/' ? { name: 'login' } : { name: 'login', query: { next } }
}

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  const session = useSessionStore()
  const user = await session.ensureLoaded()
  if (!user) return loginRoute(to.fullPath)
  const roles = to.meta.roles
  return !roles || session.hasRole(...roles) ? true : { path: '/' }
})

function updateTitle(): void {
  const key = router.currentRoute.value.meta.titleKey
  const app = i18n.global.t('app.name')
  document.title = key ? `${i18n.global.t(key)} - ${app}` : app
}

router.afterEach(updateTitle)
watch(i18n.global.locale, updateTitle)
