import { http } from './http.ts'

export type Role = 'admin' | 'supervisor' | 'monitor' | 'investigator' | 'patrol'

export interface User {
  id: string
  username: string
  displayName: string
  roles: Role[]
  locale: string | null
}

export async function login(username: string, password: string): Promise<User> {
  const res = await http.post<{ user: User }>('/auth/login', { username, password }, { quiet401: true })
  return res.user
}

export async function logout(): Promise<void> {
  await http.post<void>('/auth/logout', undefined, { quiet401: true })
}

/** The signed-in user, or an ApiError with status 401. */
export async function fetchMe(): Promise<User> {
  const res = await http.get<{ user: User }>('/auth/me', { quiet401: true })
  return res.user
}

/** Change the signed-in user's password; their other sessions and API tokens end. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await http.post<void>('/auth/password', { currentPassword, newPassword })
}
