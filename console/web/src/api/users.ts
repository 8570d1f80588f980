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

export interface ApiTokenInfo {
  id: string
  name: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

export async function listUserTokens(userId: string, signal?: AbortSignal): Promise<ApiTokenInfo[]> {
  return (await http.get<{ items: ApiTokenInfo[] }>(`/users/${seg(userId)}/tokens`, { signal })).items
}

/** The secret is in this answer only: show it once. */
export function issueUserToken(userId: string, name: string, days: number | null): Promise<{ id: string; token: string; expiresAt: string | null }> {
  return http.post(`/users/${seg(userId)}/tokens`, days ? { name, days } : { name })
}

export function revokeUserToken(userId: string, tokenId: string): Promise<void> {
  return http.delete(`/users/${seg(userId)}/tokens/${seg(tokenId)}`)
}
