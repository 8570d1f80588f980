export const ROLES = ['admin', 'supervisor', 'monitor', 'investigator', 'patrol'] as const;
export type Role = (typeof ROLES)[number];

/** Who is making a request. */
export interface Principal {
  kind: 'user' | 'api' | 'service';
  userId: string | null;
  username: string;
  roles: Role[];
}

/**
 * What a route allows, declared on every route as `config: { access }`:
 * `'public'` (login, health), `'service'` (gateway internal API), or the roles.
 * A route without a declaration fails at start-up.
 */
export type Access = 'public' | 'service' | { roles: readonly Role[] };

export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: Role[];
  locale: 'zh-CN' | 'en';
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

/** Role sets used across features, so a route reads as what it means. */
export const STAFF: readonly Role[] = ['admin', 'supervisor', 'monitor', 'investigator'];
export const ANY_ROLE: readonly Role[] = ROLES;
export const ADMIN: readonly Role[] = ['admin'];
export const PTZ_OPERATORS: readonly Role[] = ['admin', 'monitor'];
/** The control room: the wall, tours, alarms handling, incidents (monitors; admins stand in). */
export const MONITORS: readonly Role[] = ['admin', 'monitor'];
/** Read the control room's work: incidents, alarms, the wall and map (supervisors read everything). */
export const CONTROL_ROOM: readonly Role[] = ['admin', 'supervisor', 'monitor', 'investigator'];
/** Search footage, bookmark moments on incidents, export (investigators, and the monitors who find the moment). */
export const INVESTIGATORS: readonly Role[] = ['admin', 'monitor', 'investigator'];
/** Read the audit log: supervisors and admins. */
export const AUDITORS: readonly Role[] = ['admin', 'supervisor'];
/** Open the video wall and the map's live view: monitors, and supervisors who read everything. */
export const WALL_VIEWERS: readonly Role[] = ['admin', 'supervisor', 'monitor'];
