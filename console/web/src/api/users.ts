// Users and their accounts (admins only).
import { http, seg } from './http.ts'
import type { Role } from './auth.ts'

export type Locale = 'zh-CN' | 'en'

export interface UserAccount {
  id: string
  username: string
  displayName: string
  roles: Role[]
  locale: Locale
  disabled: boolean
  lastLoginAt: string | null
}

export interface NewUser {
  username: string
  password: string
  displayName?: string
  roles: Role[]
  locale?: Locale
}

export async function listUsers(signal?: AbortSignal): Promise<UserAccount[]> {
  return (await http.get<{ items: UserAccount[] }>('/users', { signal })).items
}

export function createUser(user: NewUser): Promise<UserAccount> {
  return http.post<UserAccount>('/users', user)
}

/** Disabling ends the user's sessions and API tokens for good. */
export function updateUser(id: string, patch: Partial<Pick<UserAccount, 'displayName' | 'roles' | 'locale' | 'disabled'>>): Promise<UserAccount> {
  return http.patch<UserAccount>(`/users/${seg(id)}`, patch)
}

/** Set a new password for a user; all their sessions end. */
export function resetPassword(id: string, newPassword: string): Promise<void> {
  return http.post<void>(`/users/${seg(id)}/password`, { newPassword })
}
